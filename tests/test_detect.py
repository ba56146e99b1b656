"""ecgutils.detect: detectors on synthetic and real ECG, T-wave check, EC57 scoring."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ecgutils import data, detect
from ecgutils.data import Annotations, Record

FS = 360.0


def _spiky(n_beats=60, rr_s=0.8, t_wave=False):
    """Synthetic ECG (mV): narrow QRS spikes every rr_s, optionally with broad T waves."""
    n = int((n_beats + 1) * rr_s * FS)
    t = np.arange(n)
    r = (np.arange(1, n_beats + 1) * rr_s * FS).astype(int)
    x = 0.02 * np.sin(2 * np.pi * 0.25 * t / FS)
    for p in r:
        x += 1.5 * np.exp(-0.5 * ((t - p) / 3.0) ** 2)
        if t_wave:
            x += 0.6 * np.exp(-0.5 * ((t - p - int(0.3 * FS)) / 20.0) ** 2)
    return x, r


def _record(ref, symbols, marks=(), n=100_000):
    empty = np.array([], dtype=str)
    m_s = np.array([m[0] for m in marks], dtype=np.int64)
    m_y = np.array([m[1] for m in marks], dtype=str)
    return Record(
        "x",
        np.zeros(n),
        FS,
        "MLII",
        ("MLII",),
        Annotations(np.asarray(ref), np.asarray(symbols), np.array([""] * len(ref))),
        Annotations(m_s, m_y, np.array([""] * len(marks)) if marks else empty),
    )


@pytest.mark.parametrize("method", detect.DETECTORS)
def test_every_detector_finds_synthetic_beats(method):
    x, r = _spiky()
    found = detect.detect_rpeaks(x, FS, method)
    matched = detect.score_detections(_record(r, ["N"] * len(r), n=len(x)), found)
    assert matched["se"] >= 0.95 and matched["ppv"] >= 0.95, matched


def test_real_rate_is_required_and_checked():
    x, _ = _spiky()
    with pytest.raises(TypeError):
        detect.detect_rpeaks(x)  # no default sampling rate on purpose
    with pytest.raises(ValueError, match="outside 50-10,000 Hz"):
        detect.detect_rpeaks(x, 0.36)
    with pytest.raises(ValueError, match="Unknown detector 'pan'"):
        detect.detect_rpeaks(x, FS, "pan")
    with pytest.raises(ValueError, match="at least 2 s"):
        detect.detect_rpeaks(x[:100], FS)


def test_t_wave_check_drops_t_waves_not_beats():
    x, r = _spiky(t_wave=True)
    t_waves = r + int(0.3 * FS)
    both = np.sort(np.concatenate([r, t_waves]))
    kept = detect.reject_t_waves(x, both, FS)
    np.testing.assert_array_equal(kept, r)
    # two real beats 300 ms apart (same steep slope) are both kept
    x2, r2 = _spiky(n_beats=20, rr_s=0.3)
    np.testing.assert_array_equal(detect.reject_t_waves(x2, r2, FS), r2)


def test_snap_to_r_moves_detections_onto_the_peak_up_or_down():
    x, r = _spiky(n_beats=10)
    x[r[5] - 40 : r[5] + 40] *= -1  # one beat upside down (a negative PVC)
    early = r - int(0.03 * FS)  # where gqrs puts them: about 33 ms before R
    np.testing.assert_array_equal(detect.snap_to_r(x, early, FS), r)
    assert len(detect.snap_to_r(x, np.array([], dtype=np.int64), FS)) == 0


def _beats_with_p_t_and_a_wide_one(n_beats=60, rr_s=0.8):
    """QRS every rr_s with T waves, a tall P wave before every other beat (as in record 108),
    and beat 20 wide and slow (an aberrant APC or a PVC: less energy at 5-15 Hz)."""
    n = int((n_beats + 1) * rr_s * FS)
    t = np.arange(n)
    r = (np.arange(1, n_beats + 1) * rr_s * FS).astype(int)
    x = 0.02 * np.sin(2 * np.pi * 0.25 * t / FS)
    for k, p in enumerate(r):
        width = 18.0 if k == 20 else 6.0
        x += 1.5 * np.exp(-0.5 * ((t - p) / width) ** 2)
        x += 0.4 * np.exp(-0.5 * ((t - p - int(0.3 * FS)) / 20.0) ** 2)
        if k % 2:
            x += 0.8 * np.exp(-0.5 * ((t - p + int(0.2 * FS)) / 12.0) ** 2)
    return x, r


def test_pan_tompkins_keeps_wide_beats_and_drops_t_and_p_waves():
    x, r = _beats_with_p_t_and_a_wide_one()
    ref = _record(r, ["N"] * len(r), n=len(x))
    found = detect.pan_tompkins(x, FS)
    got = detect.score_detections(ref, found)
    assert got["fn"] == 0 and got["fp"] == 0, got
    assert np.abs(found - r).max() <= 2  # on the R peaks
    # without the slope checks the 30 P waves count as beats
    assert detect.score_detections(ref, detect.pan_tompkins(x, FS, ratio=0.0))["fp"] == 30
    # the original band and threshold (5-15 Hz, 0.25) lose the wide beat
    original = detect.pan_tompkins(x, FS, band_hz=(5.0, 15.0), threshold=0.25)
    assert detect.score_detections(ref, original)["fn"] == 1


def test_scoring_follows_ec57_conventions():
    ref = np.array([1000, 2000, 3000, 4000, 5000])
    rec = _record(ref, ["N", "V", "!", "!", "N"], marks=[(2900, "["), (4100, "]")])
    # detections: 1000 ok, 2030 ok (within 150 ms), 3000 & 3500 in the flutter episode
    # (ignored), 4500 outside the episode and unmatched (FP), 5000 missed (FN)
    got = detect.score_detections(rec, np.array([1000, 2030, 3000, 3500, 4500]))
    assert (got["tp"], got["fp"], got["fn"]) == (2, 1, 1)
    assert got["se"] == pytest.approx(2 / 3) and got["ppv"] == pytest.approx(2 / 3)


def test_summary_is_gross_not_mean():
    table = pd.DataFrame(
        {
            "record": ["a", "b"],
            "detector": ["gqrs", "gqrs"],
            "refine": [False, False],
            "tp": [90, 10],
            "fp": [0, 10],
            "fn": [10, 0],
        }
    )
    s = detect.summarize_detectors(table).loc[("gqrs", False)]
    # gross: 100 / 110 for both; a mean over records would give 95% sensitivity
    assert s["Se (%)"] == pytest.approx(100 / 110 * 100)
    assert s["+P (%)"] == pytest.approx(100 / 110 * 100)


@pytest.mark.integration
def test_christov_works_at_360_hz(mitdb_ready):
    rec = data.load_record(100)
    got = detect.score_detections(rec, detect.detect_rpeaks(rec.signal, rec.fs, "christov"))
    assert got["se"] > 0.995 and got["ppv"] > 0.995  # biosppy's own call finds 529 of 2,273


@pytest.mark.integration
def test_evaluation_on_quick_records_with_cache(mitdb_ready, tmp_path, monkeypatch):
    import warnings

    from ecgutils import store

    monkeypatch.setattr(store, "data_dir", lambda: tmp_path)
    filters = list(warnings.filters)
    table = detect.evaluate_detectors(["100", "207"], ["gqrs"], n_jobs=1, progress=False)
    assert warnings.filters == filters  # no process-wide filter left behind
    assert len(table) == 4 and set(table["refine"]) == {False, True}
    entry = detect.detections_spec("207", "gqrs").path
    assert entry.parent == tmp_path / "cache" / "rpeaks" and (entry / "peaks.npy").is_file()
    assert set(store.entries(tmp_path)["label"]) == {"gqrs-100", "gqrs-207"}
    gross = detect.summarize_detectors(table)
    assert gross.loc[("gqrs", True), "Se (%)"] > 99 and gross.loc[("gqrs", True), "+P (%)"] > 99


def test_matching_names_the_found_missed_and_false_beats_of_a_stretch():
    ref = np.array([1000, 2000, 3000, 4000, 5000])
    rec = _record(ref, ["N", "V", "!", "!", "N"], marks=[(2900, "["), (4100, "]")])
    got = detect.match_detections(rec, np.array([1000, 2030, 3000, 3500, 4500]))
    assert list(got["found"]) == [1000, 2000] and list(got["missed"]) == [5000]
    assert list(got["false"]) == [4500]  # 3000 and 3500 lie in the flutter episode
    part = detect.match_detections(rec, np.array([1000, 2030, 4500]), start=1500, stop=4800)
    assert list(part["found"]) == [2000] and len(part["missed"]) == 0
    assert list(part["false"]) == [4500]
    assert len(detect.match_detections(rec, np.array([], dtype=int))["missed"]) == 3


def test_detect_window_returns_the_stretchs_beats_in_record_samples():
    x, r = _spiky(n_beats=80)
    rec = _record(r, ["N"] * len(r), n=len(x))
    rec = Record(rec.name, x, FS, "MLII", ("MLII",), rec.beats, rec.marks)
    peaks = detect.detect_window(rec, 20.0, 10.0, "pantompkins")
    inside = r[(r >= 20 * FS) & (r < 30 * FS)]
    assert len(peaks) == len(inside) and np.abs(peaks - inside).max() <= 2
    # the rate handed to the detector is its own argument: a wrong one changes what it finds
    # (at 1000 Hz the 200 ms refractory period spans 0.56 s of this 360 Hz record: a 0.4 s
    # rhythm loses beats)
    x, r = _spiky(n_beats=160, rr_s=0.4)
    rec = Record(rec.name, x, FS, "MLII", ("MLII",), rec.beats, rec.marks)
    right = detect.detect_window(rec, 20.0, 10.0, "pantompkins")
    assert len(right) == 25
    assert len(detect.detect_window(rec, 20.0, 10.0, "pantompkins", fs=1000.0)) < 20
