"""ecgutils.segment: the three rules, hand-checked, and on real records."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ecgutils import data
from ecgutils.classes import label_symbols
from ecgutils.segment import match_to_reference, segment_beats, segment_record

R = np.array([100, 300, 600, 1000])


def test_seed_rule_halfway_to_neighbours_and_edges_dropped():
    t = segment_beats(R, 1200, 360.0, rule="seed")
    assert t["beat"].tolist() == [1, 2]  # first and last beat have no neighbour on one side
    assert t["start"].tolist() == [200, 450] and t["end"].tolist() == [450, 800]
    assert t["rr_prev_s"].tolist() == pytest.approx([200 / 360, 300 / 360])
    assert t["rr_next_s"].tolist() == pytest.approx([300 / 360, 400 / 360])
    # RR intervals 200, 300, 400 samples: each beat's local mean covers all three (5 each side)
    assert t["rr_local_s"].tolist() == pytest.approx([300 / 360] * 2)
    assert t["rr_mean_s"].tolist() == pytest.approx([300 / 360] * 2)


def test_local_rr_uses_nearby_intervals_only():
    r = np.cumsum(np.r_[100, [360] * 20, [180] * 20])  # a slow stretch, then a fast one
    t = segment_beats(r, int(r[-1]) + 100, 360.0, rule="seed")
    first, last = t.iloc[0], t.iloc[-1]
    assert first["rr_local_s"] == pytest.approx(1.0) and last["rr_local_s"] == pytest.approx(0.5)
    assert first["rr_mean_s"] == pytest.approx(np.diff(r).mean() / 360)


def test_seed_rule_with_other_neighbours():
    # a rhythm mark at 500 becomes the next neighbour of the beat at 300
    t = segment_beats(R, 1200, 360.0, rule="seed", neighbours=np.array([100, 300, 500, 600, 1000]))
    assert t["end"].tolist()[0] == 400 and t["start"].tolist()[1] == 550
    # RR intervals still come from the beats, not from the marks
    assert t["rr_next_s"].tolist()[0] == pytest.approx(300 / 360)
    # with neighbours, the first beat can be cut if something precedes it
    t = segment_beats(R, 1200, 360.0, rule="seed", neighbours=np.array([20, 100, 300, 600, 1000]))
    assert t["beat"].tolist() == [0, 1, 2] and t["start"].tolist()[0] == 60


def test_paper_rule_margins_scale_with_rate():
    t = segment_beats(R, 1200, 360.0, rule="paper")
    assert t["start"].tolist() == [120, 320] and t["end"].tolist() == [580, 980]
    t = segment_beats(R * 2, 2400, 720.0, rule="paper")
    assert t["start"].tolist() == [240, 640]  # 40 samples at 720 Hz


def test_fixed_rule_drops_beats_too_close_to_the_edges():
    t = segment_beats(R, 1100, 100.0, rule="fixed", window_s=(0.5, 1.0))
    # beat at 100: start 50 ok, end 201 ok; beat at 1000: end 1101 > 1100 dropped
    assert t["beat"].tolist() == [0, 1, 2]
    assert (t["end"] - t["start"]).tolist() == [151] * 3
    assert segment_beats(R, 1100, 100.0, rule="fixed", window_s=(1.5, 1.0))["beat"].tolist() == [
        1,
        2,
    ]


def test_bad_inputs():
    with pytest.raises(ValueError, match="Unknown segmentation rule 'halfway'"):
        segment_beats(R, 1200, 360.0, rule="halfway")
    with pytest.raises(ValueError, match="strictly increasing"):
        segment_beats(R[::-1], 1200, 360.0)
    with pytest.raises(ValueError, match="Sampling rate"):
        segment_beats(R, 1200, 0)


def test_match_to_reference():
    ref = np.array([100, 400, 700])
    det = np.array([90, 250, 454, 700, 1000])
    assert match_to_reference(det, ref, fs=360).tolist() == [0, -1, 1, 2, -1]  # 54 samples = 150 ms
    assert match_to_reference(det, np.array([], dtype=int), fs=360).tolist() == [-1] * 5


def test_segment_record_on_synthetic(synthetic_record):
    rec = data.read_record(synthetic_record)
    t = segment_record(rec, "seed")
    assert t["record"].unique().tolist() == ["syn"]
    assert t["symbol"].tolist() == list(rec.beats.symbol[1:-1])
    assert t["paper8"].tolist() == label_symbols(rec.beats.symbol[1:-1], "paper8").tolist()
    assert segment_record(rec, "seed", neighbours="annotations")["beat"].tolist()[0] == 0


@pytest.mark.integration
def test_segment_real_record_all_rules(mitdb_ready):
    rec = data.load_record(100)
    for rule in ("seed", "paper", "fixed"):
        t = segment_record(rec, rule)
        assert len(t) == 2271, rule  # 2,273 beats less the first and last
        assert ((t["start"] < t["r"]) & (t["r"] < t["end"])).all()
        assert (t["start"] >= 0).all() and (t["end"] <= len(rec.signal)).all()
        assert (t["rr_prev_s"] > 0.2).all() and (t["rr_next_s"] < 3).all()
    seed = segment_record(rec, "seed")
    assert (seed["start"].to_numpy()[1:] == seed["end"].to_numpy()[:-1]).all()  # tiles the record
    # the original's neighbours: the rhythm mark at sample 18 lets the first beat be cut
    assert len(segment_record(rec, "seed", neighbours="annotations")) == 2272


@pytest.mark.integration
def test_segment_from_detected_peaks_takes_reference_labels(mitdb_ready):
    from ecgutils.detect import detect_rpeaks

    rec = data.load_record(207)
    peaks = detect_rpeaks(rec.signal, rec.fs, "gqrs", refine=True)
    t = segment_record(rec, "seed", rpeaks=peaks)
    matched = t["beat"] >= 0
    assert matched.mean() > 0.97
    assert (t.loc[matched, "symbol"].to_numpy() == rec.beats.symbol[t.loc[matched, "beat"]]).all()
    assert (t.loc[~matched, "paper8"] == -1).all()


@pytest.mark.integration
def test_compare_neighbours_on_record_100(mitdb_ready):
    from ecgutils.segment import compare_neighbours

    change = compare_neighbours(["100"])
    assert change["ours"] == {"beats": 2271, "paper8": 2271}
    assert change["original"] == {"beats": 2272, "paper8": 2272}
    assert 0 <= change["moved_paper8"] <= change["moved"] <= 2271


def test_cut_beats_keeps_every_detected_beat_and_flags_the_edges():
    """Deployment's cut: every R peak gets a window. ``seed``: the first and last beat mirror
    the half RR of the side that exists; ``fixed``: windows may reach past the signal."""
    from ecgutils.segment import cut_beats, segment_beats

    fs, r = 360.0, np.array([100, 400, 700, 1000])
    seed = cut_beats(r, 1100, fs, rule="seed")
    assert list(seed["beat"]) == [0, 1, 2, 3] and list(seed["edge"]) == [True, False, False, True]
    inner = segment_beats(r, 1100, fs, rule="seed")
    pd.testing.assert_frame_equal(
        seed[~seed["edge"]].drop(columns="edge").reset_index(drop=True), inner
    )
    first, last = seed.iloc[0], seed.iloc[-1]
    assert (first["start"], first["end"]) == (0, 250)  # 150 samples before R, clipped at 0
    assert (last["start"], last["end"]) == (850, 1100)
    assert first["rr_prev_s"] == first["rr_next_s"] == 300 / fs
    fixed = cut_beats(r, 1100, fs, rule="fixed", window_s=(0.5, 0.5))
    assert list(fixed["beat"]) == [0, 1, 2, 3]
    assert fixed["start"].iloc[0] == 100 - 180 and fixed["end"].iloc[-1] == 1000 + 181
    assert list(fixed["edge"]) == [True, False, False, True]
