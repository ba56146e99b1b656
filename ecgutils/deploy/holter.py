"""The summary a reader of a long recording expects, from its classified beats (Holter report).

From a sequence of beats (R-peak sample and AAMI class) this module derives what Holter reports
print: heart rate per hour (minimum, mean, maximum), beat counts per class per hour, the burden
of ventricular (V, PVC) and supraventricular (S, SVEB) ectopic beats, couplets, triplets and runs
of ectopic beats with their times, bigeminy and trigeminy episodes, and pauses. The same
functions run on a model's answer (:func:`ecgutils.deploy.predict.predict_ecg`) and on the
reference annotations of an MIT-BIH record (:func:`reference_beats`), so the two can be compared
beat rule by beat rule (``python -m ecgutils bench holter``).

Definitions (those of common Holter practice):

- **heart rate** of a minute: 60 / the mean RR interval of the beats in that minute; an hour's
  minimum and maximum are those of its minutes (an instantaneous rate would read one premature
  beat as 150 bpm), its mean 60 / the hour's mean RR;
- **couplet**: exactly two ectopic beats of one class in a row; **triplet**: exactly three;
  **run**: three or more (a triplet is the shortest run), reported with its start, length and
  rate;
- **bigeminy**: at least :data:`MIN_CYCLES` cycles in a row of a normal beat followed by an
  ectopic one (N V N V N V); **trigeminy**: of two normal beats then an ectopic one;
- **pause**: an RR interval longer than :data:`PAUSE_S` seconds.

Q beats (paced, unclassifiable) interrupt patterns: they are neither normal nor ectopic.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..classes import symbol_map

#: An RR interval longer than this is a pause, seconds.
PAUSE_S = 2.0
#: Cycles (normal beat(s) + an ectopic beat) that make a bigeminy or trigeminy episode.
MIN_CYCLES = 3
#: The ectopic classes a Holter report counts, with their names.
ECTOPIC = {"V": "ventricular (PVC)", "S": "supraventricular (SVEB)"}
#: Bins of the report's tables, seconds.
HOUR_S, MINUTE_S = 3600.0, 60.0
#: Recordings at least this long get the summary on the page, seconds (a strip: beat by beat).
SUMMARY_FROM_S = 300.0


def aami_classes(codes, scheme: str) -> np.ndarray:
    """Class codes of ``scheme`` (a model's classes, e.g. ``paper8``'s ``L`` or ``/``) as AAMI
    classes N, S, V, F, Q (``!``, flutter waves, is not a beat: ``Q``)."""
    codes = np.asarray(codes, dtype=object)
    if scheme == "aami5":
        return codes.astype(str)
    m = symbol_map("aami5")
    return np.array([m.get(str(c), "Q") for c in codes], dtype=str)


@dataclass
class HolterSummary:
    """What :func:`holter_summary` found. Times are seconds from the recording's start.

    Attributes
    ----------
    hours : DataFrame
        One row per hour (``hour`` 0, 1, ...): ``minutes`` covered, ``beats``, heart rate
        ``HR min``, ``HR mean``, ``HR max`` (bpm) and a count per class (N, S, V, F, Q).
    burden : dict
        Per ectopic class, its share of all beats, %.
    events : DataFrame
        One row per event: ``event`` (couplet, run, bigeminy, trigeminy, pause), ``class``
        (V or S; empty for a pause), ``start_s``, ``end_s``, ``beats`` and ``rate_bpm`` (of a
        run) or ``seconds`` (of a pause).
    counts : dict
        How many of each event (``V couplets``, ``V triplets``, ``V runs``, ``S ...``,
        ``V bigeminy``, ``pauses``...).
    beats, duration_s : int, float
    """

    hours: pd.DataFrame
    burden: dict
    events: pd.DataFrame
    counts: dict
    beats: int
    duration_s: float
    notes: list[str] = field(default_factory=list)

    def text(self, max_events: int = 20) -> str:
        """The report as text, for the command line."""
        lines = [
            f"Holter summary: {self.beats:,} beats in {self.duration_s / 3600:.2f} h",
            "Burden: " + ", ".join(f"{ECTOPIC[c]} {v:.2f}%" for c, v in self.burden.items()),
            "Events: " + ", ".join(f"{k} {v}" for k, v in self.counts.items()),
            "",
            self.hours.to_string(float_format=lambda v: f"{v:.0f}"),
        ]
        if len(self.events):
            shown = self.events.head(max_events)
            lines += ["", f"Events (first {len(shown)} of {len(self.events)}):",
                      shown.to_string(index=False, float_format=lambda v: f"{v:.1f}")]  # fmt: skip
        return "\n".join(lines + self.notes)

    def html(self, max_events: int = 20) -> str:
        """The report as HTML (the page): burden and events in a line, the table per hour
        (``id="holter-hours"``) and the first ``max_events`` events (``id="holter-events"``)."""
        import html

        found = ", ".join(f"{k} {v}" for k, v in self.counts.items() if v) or "none"
        hours = self.hours.reset_index()
        parts = [
            f"<b>Holter summary</b>: {self.beats:,} beats in {self.duration_s / 3600:.2f} h. "
            "Burden: "
            + ", ".join(f"{ECTOPIC[c]} {v:.2f}%" for c, v in self.burden.items())
            + ". Events: " + html.escape(found),
            hours.to_html(index=False, table_id="holter-hours", float_format=lambda v: f"{v:.0f}",
                          formatters={"minutes": lambda v: f"{v:.1f}"}),
        ]  # fmt: skip
        if len(self.events):
            shown = self.events.head(max_events)
            parts += [
                f"Events (first {len(shown)} of {len(self.events)}; times in s from the start):",
                shown.to_html(index=False, table_id="holter-events",
                              float_format=lambda v: f"{v:.1f}", na_rep=""),
            ]  # fmt: skip
        return "<br>".join(parts + [html.escape(n) for n in self.notes])

    def to_dict(self) -> dict:
        """The report as plain types (JSON)."""
        return {
            "beats": self.beats,
            "duration_s": self.duration_s,
            "burden (%)": self.burden,
            "counts": self.counts,
            "hours": json.loads(self.hours.reset_index().to_json(orient="records")),
            "events": json.loads(self.events.to_json(orient="records")),
            "notes": self.notes,
        }


def _hours(t: np.ndarray, rr: np.ndarray, cls: np.ndarray, duration_s: float) -> pd.DataFrame:
    n_hours = max(1, int(np.ceil(duration_s / HOUR_S - 1e-9)))
    hour = np.minimum((t // HOUR_S).astype(int), n_hours - 1)
    minute = (t // MINUTE_S).astype(int)
    frame = pd.DataFrame({"hour": hour, "minute": minute, "rr": rr, "class": cls})
    per_minute = (
        frame.dropna(subset=["rr"]).groupby("minute").agg(hour=("hour", "first"), rr=("rr", "mean"))
    )
    per_minute["hr"] = 60.0 / per_minute["rr"]
    rows = []
    for h in range(n_hours):
        in_h = frame[frame.hour == h]
        m = per_minute[per_minute.hour == h]
        mean_rr = in_h["rr"].mean()
        row = {
            "hour": h,
            "minutes": min(60.0, (duration_s - h * HOUR_S) / MINUTE_S),
            "beats": len(in_h),
            "HR min": m["hr"].min() if len(m) else np.nan,
            "HR mean": 60.0 / mean_rr if mean_rr > 0 else np.nan,
            "HR max": m["hr"].max() if len(m) else np.nan,
        }
        row.update({c: int((in_h["class"] == c).sum()) for c in "NSVFQ"})
        rows.append(row)
    return pd.DataFrame(rows).set_index("hour")


def _runs(cls: np.ndarray, t: np.ndarray, c: str) -> list[dict]:
    """Maximal runs of class ``c``: couplets (2) and runs (3 or more, triplets counted apart)."""
    hit = np.r_[False, cls == c, False]
    edges = np.flatnonzero(np.diff(hit.astype(np.int8)))
    out = []
    for a, b in zip(edges[::2], edges[1::2]):  # beats a .. b-1
        n = b - a
        if n < 2:
            continue
        rate = 60.0 * (n - 1) / (t[b - 1] - t[a]) if t[b - 1] > t[a] else np.nan
        kind = "couplet" if n == 2 else ("triplet" if n == 3 else "run")
        out.append({"event": kind, "class": c, "start_s": t[a], "end_s": t[b - 1], "beats": n,
                    "rate_bpm": rate, "seconds": np.nan})  # fmt: skip
    return out


def _patterns(cls: np.ndarray, t: np.ndarray, c: str) -> list[dict]:
    """Bigeminy (N c N c ...) and trigeminy (N N c N N c ...) episodes of :data:`MIN_CYCLES`
    cycles or more."""
    letters = "".join(x if x in ("N", c) else "." for x in cls)
    out = []
    for name, unit in (("bigeminy", "N" + c), ("trigeminy", "NN" + c)):
        for m in re.finditer(f"(?:{unit}){{{MIN_CYCLES},}}", letters):
            a, b = m.start(), m.end() - 1
            out.append({"event": name, "class": c, "start_s": t[a], "end_s": t[b],
                        "beats": b - a + 1, "rate_bpm": np.nan, "seconds": np.nan})  # fmt: skip
    return out


def holter_summary(r: np.ndarray, classes, fs: float, *, duration_s: float | None = None,
                   scheme: str = "aami5") -> HolterSummary:  # fmt: skip
    """The Holter report of a sequence of beats.

    Parameters
    ----------
    r : (n,) int array
        R-peak sample of each beat, increasing.
    classes : (n,) array of str
        Each beat's class in ``scheme`` (mapped to AAMI classes, :func:`aami_classes`).
    fs : float
        Sampling rate of ``r``, Hz.
    duration_s : float, optional
        The recording's length (default: up to the last beat).

    Returns
    -------
    HolterSummary
    """
    r = np.asarray(r, dtype=float)
    cls = aami_classes(classes, scheme)
    if len(r) != len(cls):
        raise ValueError(f"{len(r)} R peaks but {len(cls)} classes: give one class per beat.")
    if len(r) and np.any(np.diff(r) <= 0):
        raise ValueError("R peaks must be increasing sample numbers.")
    t = r / fs
    duration_s = float(duration_s if duration_s is not None else (t[-1] if len(t) else 0.0))
    rr = np.r_[np.nan, np.diff(t)]
    hours = _hours(t, rr, cls, duration_s)
    n = len(cls)
    burden = {c: round(100.0 * float((cls == c).sum()) / max(n, 1), 3) for c in ECTOPIC}
    events = []
    for c in ECTOPIC:
        events += _runs(cls, t, c) + _patterns(cls, t, c)
    long = np.flatnonzero(rr > PAUSE_S)
    events += [{"event": "pause", "class": "", "start_s": t[i - 1], "end_s": t[i], "beats": 2,
                "rate_bpm": np.nan, "seconds": rr[i]} for i in long]  # fmt: skip
    columns = ["event", "class", "start_s", "end_s", "beats", "rate_bpm", "seconds"]
    events = pd.DataFrame(events, columns=columns).sort_values("start_s", kind="stable")
    events = events.reset_index(drop=True)
    counts = {}
    for c in ECTOPIC:
        mine = events[events["class"] == c]
        counts[f"{c} couplets"] = int((mine.event == "couplet").sum())
        counts[f"{c} triplets"] = int((mine.event == "triplet").sum())
        counts[f"{c} runs (>=3)"] = int(mine.event.isin(["triplet", "run"]).sum())
        counts[f"{c} bigeminy"] = int((mine.event == "bigeminy").sum())
        counts[f"{c} trigeminy"] = int((mine.event == "trigeminy").sum())
    counts[f"pauses > {PAUSE_S:g} s"] = int((events.event == "pause").sum())
    return HolterSummary(hours, burden, events, counts, n, duration_s)


def reference_beats(record) -> tuple[np.ndarray, np.ndarray]:
    """An MIT-BIH record's reference beats as (R samples, AAMI classes): every beat label the
    cardiologists gave, Q beats included (:class:`ecgutils.data.Record`)."""
    m = symbol_map("aami5")
    symbols = np.asarray(record.beats.symbol, dtype=str)
    keep = np.isin(symbols, list(m))
    return np.asarray(record.beats.sample)[keep], np.array([m[s] for s in symbols[keep]], dtype=str)
