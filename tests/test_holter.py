"""ecgutils.deploy.holter: the Holter report from a beat sequence, checked by hand."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ecgutils.deploy import holter


def _beats(pattern: str, rr_s: float = 1.0, fs: float = 100.0):
    """R samples at a steady rate, one class letter per beat."""
    r = np.rint(np.arange(len(pattern)) * rr_s * fs).astype(int) + 50
    return r, np.array(list(pattern))


def test_couplets_triplets_runs_and_patterns_by_hand():
    #          couplet    triplet     run of 5     bigeminy (4 cycles)  trigeminy (3)
    pattern = "NNVVNNN" + "VVVNNN" + "VVVVVNN" + "NVNVNVNVNN" + "NNSNNSNNSNN"
    r, cls = _beats(pattern)
    s = holter.holter_summary(r, cls, fs=100.0)
    c = s.counts
    assert (c["V couplets"], c["V triplets"], c["V runs (>=3)"]) == (1, 1, 2)
    assert (c["V bigeminy"], c["S trigeminy"], c["S couplets"]) == (1, 1, 0)
    run = s.events[(s.events.event == "run")].iloc[0]
    assert run.beats == 5 and run.rate_bpm == pytest.approx(60.0)
    assert run.start_s == pytest.approx((pattern.index("VVVVV") * 100 + 50) / 100)
    bigem = s.events[s.events.event == "bigeminy"].iloc[0]
    assert bigem.beats == 8  # N V N V N V N V
    assert s.burden["V"] == pytest.approx(100 * pattern.count("V") / len(pattern), abs=1e-3)


def test_q_beats_break_patterns_and_runs():
    r, cls = _beats("NVNVQVNVN" + "VVQVV")  # two cycles each side of Q
    s = holter.holter_summary(r, cls, fs=100.0)
    assert (
        s.counts["V bigeminy"] == 0
        and s.counts["V couplets"] == 2
        and s.counts["V runs (>=3)"] == 0
    )


def test_pauses_and_heart_rate_per_hour():
    fs = 100.0
    # an hour at 60 bpm, one 3 s pause, then half an hour at 120 bpm
    t = list(np.arange(0, 3600, 1.0)) + [3602.0]
    t += list(3602.0 + np.arange(1, 1800 * 2) * 0.5)
    r = np.rint(np.array(t) * fs).astype(int)
    s = holter.holter_summary(r, ["N"] * len(r), fs, duration_s=5400)
    assert s.counts["pauses > 2 s"] == 1
    pause = s.events[s.events.event == "pause"].iloc[0]
    assert pause.seconds == pytest.approx(3.0) and pause.start_s == pytest.approx(3599.0)
    assert list(s.hours.index) == [0, 1] and s.hours.loc[1, "minutes"] == pytest.approx(30)
    assert s.hours.loc[0, "HR mean"] == pytest.approx(60, abs=0.1)
    assert s.hours.loc[1, "HR max"] == pytest.approx(120, abs=0.1)
    assert 100 < s.hours.loc[1, "HR min"] < 119  # the minute holding the pause averages it in
    assert s.hours.loc[0, "N"] + s.hours.loc[1, "N"] == len(r)


def test_text_json_and_paper8_classes_map_to_aami():
    r, cls = _beats("NLRAAVE/N")
    s = holter.holter_summary(r, cls, fs=100.0, scheme="paper8")
    assert s.counts["S couplets"] == 1 and s.counts["V couplets"] == 1
    assert s.hours.loc[0, "Q"] == 1
    assert "Holter summary: 9 beats" in s.text()
    assert json.loads(json.dumps(s.to_dict()))["counts"]["V couplets"] == 1


def test_html_report_names_its_tables_and_only_the_events_found():
    import re

    r, cls = _beats("NNVVNNN" * 30)
    s = holter.holter_summary(r, cls, fs=100.0)
    page = s.html(max_events=5)
    assert "Holter summary</b>: 210 beats" in page and "V couplets 30" in page
    assert "S couplets" not in page  # none found: not listed
    hours = page[page.index('id="holter-hours"') : page.index("</table>")]
    assert re.findall(r"<th>(\w[^<]*)</th>", hours)[:3] == ["hour", "minutes", "beats"]
    assert hours.count("<tr>") == 1  # one hour, its row
    events = page[page.index('id="holter-events"') :]
    assert events.count("<tr>") == 5 and "first 5 of 30" in page
    quiet = holter.holter_summary(*_beats("N" * 20), fs=100.0).html()
    assert "Events: none" in quiet and "holter-events" not in quiet


def test_bad_input_is_a_clear_error():
    with pytest.raises(ValueError, match="one class per beat"):
        holter.holter_summary([1, 2, 3], ["N", "N"], fs=360)
    with pytest.raises(ValueError, match="increasing"):
        holter.holter_summary([3, 2, 1], ["N", "N", "N"], fs=360)
