"""Tests of ecgutils.research.features: beat features tried for new patients (synthetic beats)."""

import numpy as np
import pandas as pd
import pytest

from ecgutils.research import features

FS = 360.0


def _beats(rr_by_record: dict[str, list[float]]) -> pd.DataFrame:
    """A beat table: each record's RR intervals (s) in order; R peaks at their sums."""
    parts = []
    for name, rr in rr_by_record.items():
        rr = np.asarray(rr, dtype=float)
        t = np.r_[1.0, 1.0 + np.cumsum(rr)]
        prev = np.r_[np.nan, np.diff(t)]
        nxt = np.r_[np.diff(t), np.nan]
        parts.append(pd.DataFrame({"record": name, "r": np.round(t * FS).astype(int),
                                   "rr_prev_s": prev, "rr_next_s": nxt}))  # fmt: skip
    return pd.concat(parts, ignore_index=True)


def test_rr_distribution_features_measure_prematurity_within_each_patient():
    """A beat 40% early in a regular record ranks first, is 0.6 of the median, far below in
    robust z, shorter than the recent rhythm and the RR before, and followed by a pause; the
    first beat of each record has no RR before (NaN), and records never mix."""
    beats = _beats({"a": [1.0] * 10 + [0.6, 1.4] + [1.0] * 10, "b": [0.5] * 22})
    f = features.rr_distribution_features(beats)
    assert f.shape == (len(beats), len(features.RR_DISTRIBUTION_COLUMNS))
    early = 11  # record a: the beat after the 0.6 s interval
    assert beats.rr_prev_s[early] == pytest.approx(0.6)
    rank, ratio, z, recent, before, after_before, after = f[early]
    assert rank == f[1 : len(beats) // 2, 0].min()
    assert ratio == pytest.approx(0.6) and z < -10 and recent == pytest.approx(0.6)
    assert before == pytest.approx(0.6) and after_before == pytest.approx(1.4 / 0.6)
    assert after == pytest.approx(1.4)
    first_b = int(np.flatnonzero(beats.record == "b")[0])
    assert np.isnan(f[0, 0]) and np.isnan(f[first_b, 1])
    assert np.allclose(f[first_b + 1 : -1, 1], 1.0)  # b's median is its own 0.5 s


def _ecg(r: np.ndarray, p_sign: np.ndarray, n: int) -> np.ndarray:
    """A synthetic lead: a narrow R at each peak, a P wave 160 ms before it scaled by p_sign."""
    t = np.arange(n)
    x = np.zeros(n)
    for ri, s in zip(r, p_sign, strict=True):
        x += np.exp(-0.5 * ((t - ri) / (0.01 * FS)) ** 2)
        x += 0.15 * s * np.exp(-0.5 * ((t - ri + 0.16 * FS) / (0.02 * FS)) ** 2)
    return x


def test_p_wave_features_tell_a_foreign_or_missing_p_wave():
    """Against the patient's median P window, an ordinary beat correlates ~1 and keeps its
    size; an inverted P correlates negatively; a missing P is small; a P 40 ms early keeps its
    shape (best correlation over shifts) but moves its peak by about -40 ms."""
    r = (np.arange(1, 25) * FS).astype(int)
    sign = np.ones(len(r))
    sign[8], sign[12] = -1, 0  # an inverted P, no P
    x = _ecg(r, sign, int(26 * FS))
    early = 16  # its P wave 40 ms earlier
    x += 0.15 * (
        np.exp(-0.5 * ((np.arange(len(x)) - r[early] + 0.20 * FS) / (0.02 * FS)) ** 2)
        - np.exp(-0.5 * ((np.arange(len(x)) - r[early] + 0.16 * FS) / (0.02 * FS)) ** 2)
    )
    f = features.p_wave_features(x, r, np.ones(len(r), bool), FS)
    assert f.shape == (len(r), len(features.P_WAVE_COLUMNS))
    corr, amp, rms, shift, peak, best = f.T
    assert corr[3] > 0.99 and amp[3] == pytest.approx(1, abs=0.05) and rms[3] < 0.05
    assert corr[8] < -0.5
    assert amp[12] < 0.3 and peak[12] < 0.3
    assert corr[early] < 0.9 and best[early] > 0.95 and shift[early] == pytest.approx(-40, abs=6)


def test_morphology_difference_is_zero_for_the_patients_usual_beat():
    """The whole-beat difference from the median beat is ~0 for ordinary beats and not for a
    beat twice as tall, in units of the template's range."""
    r = (np.arange(1, 21) * FS).astype(int)
    x = _ecg(r, np.ones(len(r)), int(22 * FS))
    x[r[5] - 10 : r[5] + 10] *= 2
    d = features.morphology_difference(x, r, np.ones(len(r), bool), FS)
    assert d.shape == (len(r), 20)
    assert np.abs(d[2]).max() < 0.02 and np.abs(d[5]).max() > 0.3


def test_fold_probabilities_score_only_held_out_beats():
    """Each fold's held-out beats get probabilities (rows sum to 1), the others stay NaN; with
    self-training each held-out record is adapted and still scored."""
    rng = np.random.default_rng(1)
    n = 240
    labels = np.repeat([0, 1, 2], n // 3)
    x = rng.normal(size=(n, 3))
    x[:, 0] += 3 * labels
    records = np.array([f"r{i % 4}" for i in range(n)])
    folds = [(np.flatnonzero(records != "r0"), np.flatnonzero(records == "r0")),
             (np.flatnonzero(records != "r1"), np.flatnonzero(records == "r1"))]  # fmt: skip
    for self_training, n_models in ((False, 1), (True, 1), (True, 2)):
        p = features.fold_probabilities(x, labels, folds, records, self_training=self_training,
                                        n_models=n_models, max_iter=20)  # fmt: skip
        scored = np.isin(records, ["r0", "r1"])
        assert np.isnan(p[~scored]).all() and np.allclose(p[scored].sum(axis=1), 1)
        assert (p[scored].argmax(axis=1) == labels[scored]).mean() > 0.9


def test_s_decision_from_lets_the_first_model_decide_every_beat_either_calls_s():
    """Checked by hand: N, S, V columns; S is index 1; NaN rows stay NaN."""
    first = np.array([[0.2, 0.7, 0.1], [0.6, 0.3, 0.1], [0.5, 0.1, 0.4], [0.1, 0.2, 0.7],
                      [np.nan] * 3])  # fmt: skip
    rest = np.array([[0.6, 0.3, 0.1], [0.2, 0.7, 0.1], [0.2, 0.1, 0.7], [0.8, 0.1, 0.1],
                     [np.nan] * 3])  # fmt: skip
    joined = features.s_decision_from(first, rest, s=1)
    # first calls S -> S; only rest calls S -> the first's class (N); neither -> the rest's
    assert joined[:4].argmax(axis=1).tolist() == [1, 0, 2, 0]
    assert np.array_equal(joined[:2], first[:2]) and np.array_equal(joined[2:4], rest[2:4])
    assert np.isnan(joined[4]).all()
    # the same model on both sides changes nothing
    assert np.array_equal(features.s_decision_from(rest, rest), rest, equal_nan=True)
