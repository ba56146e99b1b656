"""ecgutils.deploy.pacing: paced beats found and said, on synthetic beats and MIT-BIH records."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ecgutils.data import load_record
from ecgutils.deploy import pacing
from ecgutils.deploy.predict import PACED_ROW, load_deployed_model, predict_strip

FS = 360.0


def _beats(wide: bool, spike: bool, n: int = 20, rr_s: float = 0.8):
    """A baseline-free lead of ``n`` beats: a narrow QRS (a 30 ms Gaussian, 1 mV), or a wide
    one (100 ms), with or without a one-sample spike 40 ms before R."""
    t = np.arange(int(n * rr_s * FS)) / FS
    peaks = np.rint((np.arange(n) + 0.5) * rr_s * FS).astype(int)
    x = np.zeros_like(t)
    sd = 0.05 if wide else 0.012
    for p in peaks:
        x += np.exp(-0.5 * ((t - p / FS) / sd) ** 2)
        if spike:
            x[p - int(0.04 * FS)] += 2.0
    return x, peaks


def test_features_see_a_spike_and_a_wide_qrs():
    x, peaks = _beats(wide=False, spike=False)
    narrow = pacing.pacing_features(x, FS, peaks)
    wide = pacing.pacing_features(_beats(wide=True, spike=False)[0], FS, peaks)
    spiked = pacing.pacing_features(_beats(wide=False, spike=True)[0], FS, peaks)
    assert narrow.shape == (len(peaks), len(pacing.FEATURES)) and narrow.dtype == np.float32
    width, template = pacing.FEATURES.index("width"), pacing.FEATURES.index("template width")
    assert (wide[:, width] > narrow[:, width] + 3).all()
    assert wide[0, template] > narrow[0, template] + 3
    spike = pacing.FEATURES.index("spike")
    assert (spiked[:, spike] > 5 * narrow[:, spike]).all()
    # the units are the neighbourhood's: the same beats ten times taller give the same numbers
    np.testing.assert_allclose(pacing.pacing_features(10 * x, FS, peaks), narrow, rtol=1e-4)
    # rows: only those beats, the reference still from all of them
    np.testing.assert_allclose(pacing.pacing_features(x, FS, peaks, rows=[2, 5]), narrow[[2, 5]])


def test_a_short_strip_is_not_judged(mitdb_ready):
    strip = predict_strip(load_record("107", warn=False), 0, 15, load_deployed_model())
    assert len(strip.beats) < pacing.GATE_MIN_BEATS
    assert not strip.notes and not strip.beats["paced window"].any()


def test_the_gate_says_a_window_only_when_half_its_beats_look_paced():
    prob = np.array([0.9, 0.9, 0.1, 0.1, 0.9, 0.1, 0.1, 0.1, 0.9, 0.9])
    window = np.array([0, 0, 0, 0, 1, 1, 1, 1, 2, 2])
    big = np.repeat(window, pacing.GATE_MIN_BEATS)  # every window long enough to judge
    np.testing.assert_array_equal(
        pacing.paced_windows(np.repeat(prob, pacing.GATE_MIN_BEATS), big),
        np.repeat([True] * 4 + [False] * 4 + [True] * 2, pacing.GATE_MIN_BEATS),
    )
    # too few beats to judge: no window is paced, however they look
    assert not pacing.paced_windows(prob, window).any()
    assert pacing.paced_windows(np.zeros(0), np.zeros(0)).shape == (0,)


def test_a_paced_record_is_said_and_a_sinus_one_is_not(mitdb_ready):
    model = load_deployed_model()
    paced = predict_strip(load_record("107", warn=False), 0, 300, model)
    beats = paced.beats
    assert beats["paced window"].all()
    q = beats["class"] == "Q"
    assert q.mean() > 0.9 and set(beats.loc[q, "label"]) == {"Paced"}
    assert len(paced.notes) == 1 and "looks paced from 0:00:00" in paced.notes[0]
    assert paced.summary.loc[PACED_ROW, "beats"] == q.sum()
    assert paced.summary.loc[PACED_ROW, "label"] == "Paced" and paced.summary["beats"].sum() == len(
        q
    )
    assert json.loads(paced.to_json())["notes"] == paced.notes
    sinus = predict_strip(load_record("100"), 0, 300, model)
    assert not sinus.notes and not sinus.beats["paced window"].any()
    assert "Q" not in set(sinus.beats["class"])
    off = predict_strip(load_record("107", warn=False), 0, 300, model, pacing=False)
    assert not off.notes and not off.beats["paced window"].any()
    # a model with a paced class of its own answers for itself: no detector, no note
    cnn8 = predict_strip(load_record("107", warn=False), 0, 300, load_deployed_model("cnn8"))
    assert not cnn8.notes and PACED_ROW not in cnn8.summary.index
    assert not cnn8.beats["paced window"].any() and "Q" not in set(cnn8.beats["class"])


def test_the_shipped_detector_loads_and_a_missing_one_says_how_to_make_it(tmp_path):
    detector = pacing.load_detector()
    card = json.loads((pacing.PACING_DIR / "card.json").read_text())
    assert card["features"] == list(pacing.FEATURES) and card["gate_share"] == pacing.GATE_SHARE
    assert detector.max_depth == card["params"]["max_depth"]
    assert detector.predict_proba(np.zeros((3, len(pacing.FEATURES)), np.float32)).shape == (3,)
    with pytest.raises(ValueError, match="ship-model --kind pacing"):
        pacing.load_detector(tmp_path)


def test_a_saved_detector_gives_the_same_probabilities(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(600, len(pacing.FEATURES))).astype(np.float32)
    y = x[:, 3] > 0.5
    fitted = pacing.PacingDetector(max_iter=20, min_samples_leaf=20).fit(x, y)
    pacing.save_detector(fitted, tmp_path, {"trained on": "noise"})
    loaded = pacing.load_detector(tmp_path)
    np.testing.assert_array_equal(loaded.predict_proba(x), fitted.predict_proba(x))
    assert loaded.min_samples_leaf == 20
    assert ((fitted.predict_proba(x) > 0.5) == y).mean() > 0.95


def test_the_note_names_the_span_and_the_counts():
    r_s = np.array([10.0, 70.0, 3700.0, 3800.0, 7300.0])
    note = pacing.pacing_note(
        np.array([1, 1, 0, 0, 1], bool), np.array([1, 1, 1, 0, 1], bool), r_s
    )  # two paced parts: the first three beats, and the last
    assert "from 0:00:10 to 1:01:40, 2:01:40 to 2:01:40:" in note and "3 of the 4 beats" in note
    assert "the other 1 beat there cannot" in note
    assert pacing.pacing_note(np.zeros(4, bool), np.zeros(4, bool), r_s) is None
