"""Cut a record into beats: one row per beat with its R peak, its window and its labels.

Three rules decide where a beat starts and ends (``rule=``):

* ``"seed"``: from halfway to the previous neighbour to halfway to the next one (the popular
  re-implementation). Its neighbours are the other beats; ``neighbours="annotations"`` uses
  every annotation mark instead (rhythm, noise and comment marks too), as the original code did.
* ``"paper"``: from the previous R peak + 20 samples to the next R peak - 20 samples
  (Jun et al. 2018; 20 samples at 360 Hz, scaled for other rates).
* ``"fixed"``: a fixed window around R, ``window_s`` seconds before and after.

Beats that a rule cannot cut within the record (the first and last beat for ``seed`` and
``paper``, beats too close to an edge for ``fixed``) are dropped by :func:`segment_beats`, never
padded; deployment's :func:`cut_beats` keeps them, flagged ``edge``. All sample numbers are at
the record's sampling rate; ``end`` is exclusive, like a Python slice.

Source: chapter 02 (``notebooks/02_rpeaks_segmentation.ipynb``) writes :func:`rule_windows`
(cells marked ``#| export``; a test fails when chapter and package differ).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from .classes import SCHEMES, label_symbols
from .data import Record, check_record_names, load_record

#: The segmentation rules.
RULES: tuple[str, ...] = ("seed", "paper", "fixed")
#: Default window of the ``fixed`` rule: seconds before and after R.
FIXED_WINDOW_S: tuple[float, float] = (0.25, 0.45)
#: The paper's margin, in samples at 360 Hz.
PAPER_MARGIN_360 = 20
#: Tolerance for matching a detected R peak to a reference beat (ANSI/AAMI EC57: 150 ms).
MATCH_WINDOW_S = 0.150

#: Columns of a beat table, in order.
#: Beats on each side whose RR intervals make the local average RR (``rr_local_s``).
LOCAL_RR_BEATS = 5

#: Columns of a beat table, in order.
BEAT_COLUMNS = [
    "record", "beat", "r", "start", "end", "symbol",
    "rr_prev_s", "rr_next_s", "rr_local_s", "rr_mean_s", *SCHEMES,
]  # fmt: skip


def rule_windows(r, n_samples, fs, rule="seed", neighbours=None, window_s=FIXED_WINDOW_S):
    """Where each beat starts and ends under one rule: (start, end, ok), sample numbers
    (``end`` exclusive) and whether the beat can be cut, for the R peaks ``r``."""
    n = len(r)
    prev_r = np.concatenate([[-1], r[:-1]]) if n else r
    next_r = np.concatenate([r[1:], [-1]]) if n else r
    has_prev, has_next = np.arange(n) > 0, np.arange(n) < n - 1
    if rule == "seed":  # halfway to the neighbours
        nb = r if neighbours is None else np.unique(np.asarray(neighbours, dtype=np.int64))
        i_prev = np.searchsorted(nb, r, side="left") - 1  # last neighbour strictly before R
        i_next = np.searchsorted(nb, r, side="right")  # first neighbour strictly after R
        ok = (i_prev >= 0) & (i_next < len(nb))
        prev_nb = nb[np.clip(i_prev, 0, max(len(nb) - 1, 0))] if len(nb) else r
        next_nb = nb[np.clip(i_next, 0, max(len(nb) - 1, 0))] if len(nb) else r
        start, end = (prev_nb + r) // 2, (r + next_nb) // 2
    elif rule == "paper":  # from the previous R + 20 samples to the next R - 20 (at 360 Hz)
        margin = int(round(PAPER_MARGIN_360 * fs / 360.0))
        ok = has_prev & has_next
        start, end = prev_r + margin, next_r - margin
        ok &= (start < r) & (end > r)
    else:  # fixed: window_s seconds before and after R
        before, after = (int(round(w * fs)) for w in window_s)
        if before < 0 or after <= 0:
            raise ValueError(f"window_s must be (before >= 0, after > 0) seconds, got {window_s}.")
        start, end = r - before, r + after + 1
        ok = np.ones(n, dtype=bool)
    ok &= (start >= 0) & (end <= n_samples) & (end - start >= 2)  # inside the record
    return start, end, ok


def segment_beats(
    r: np.ndarray,
    n_samples: int,
    fs: float,
    *,
    rule: str = "seed",
    neighbours: np.ndarray | None = None,
    window_s: tuple[float, float] = FIXED_WINDOW_S,
) -> pd.DataFrame:
    """Windows of beats around their R peaks under one rule.

    Parameters
    ----------
    r : (n,) int array
        R-peak sample numbers, increasing.
    n_samples : int
        Length of the signal, in samples.
    fs : float
        Sampling rate, Hz.
    rule : {"seed", "paper", "fixed"}
        See the module docstring.
    neighbours : (m,) int array, optional
        For ``seed`` only: the sample numbers that count as neighbours (default ``r``).
    window_s : (float, float)
        For ``fixed`` only: seconds before and after R.

    Returns
    -------
    DataFrame
        One row per beat that can be cut, with columns ``beat`` (index into ``r``), ``r``,
        ``start``, ``end`` (exclusive), ``rr_prev_s`` and ``rr_next_s`` (seconds to the
        previous and next R peak of ``r``; NaN where there is none), ``rr_local_s`` (mean of
        the RR intervals within :data:`LOCAL_RR_BEATS` beats on either side) and ``rr_mean_s``
        (mean RR interval of the whole signal: the patient's own pace).
    """
    if rule not in RULES:
        raise ValueError(f"Unknown segmentation rule {rule!r}; choose one of {', '.join(RULES)}.")
    r = np.asarray(r, dtype=np.int64)
    if r.ndim != 1 or (len(r) > 1 and np.any(np.diff(r) <= 0)):
        raise ValueError("R peaks must be a 1-D array of strictly increasing sample numbers.")
    if fs <= 0:
        raise ValueError(f"Sampling rate must be positive, got {fs} Hz.")
    n = len(r)
    prev_r = np.concatenate([[-1], r[:-1]]) if n else r
    next_r = np.concatenate([r[1:], [-1]]) if n else r
    has_prev, has_next = np.arange(n) > 0, np.arange(n) < n - 1
    start, end, ok = rule_windows(r, n_samples, fs, rule, neighbours, window_s)
    rr_prev = np.where(has_prev, (r - prev_r) / fs, np.nan)
    rr_next = np.where(has_next, (next_r - r) / fs, np.nan)
    rr_local, rr_mean = _local_rr(r, fs)
    return pd.DataFrame(
        {
            "beat": np.flatnonzero(ok),
            "r": r[ok],
            "start": start[ok],
            "end": end[ok],
            "rr_prev_s": rr_prev[ok],
            "rr_next_s": rr_next[ok],
            "rr_local_s": rr_local[ok],
            "rr_mean_s": np.full(int(ok.sum()), rr_mean),
        }
    )


def edge_pad(fs: float, window_s: tuple[float, float] = FIXED_WINDOW_S) -> int:
    """Samples a signal is extended by at both ends so that every ``fixed`` window fits."""
    return int(round(sum(window_s) * fs)) + 2


def cut_beats(
    r: np.ndarray,
    n_samples: int,
    fs: float,
    *,
    rule: str = "seed",
    window_s: tuple[float, float] = FIXED_WINDOW_S,
) -> pd.DataFrame:
    """Every detected beat of a recording cut under ``rule``, the edge beats included: what
    deployment classifies (a ten-second strip holds about twelve beats; dropping the two at
    its ends would lose a sixth of it).

    ``fixed``: each beat keeps its window even where it reaches past the signal (``start`` < 0
    or ``end`` > ``n_samples``; the caller pads the signal). ``seed`` and ``paper``: the first
    and the last beat, whose outer neighbour lies outside the signal, get the half RR interval
    of the side that exists mirrored on the other (clipped to the signal), and the missing RR
    interval takes the value of the one that exists.

    Returns
    -------
    DataFrame
        :func:`segment_beats`' columns, sorted by ``r``, and ``edge`` (True where the beat's
        window was cut at an edge of the recording).
    """
    if rule == "fixed":  # cut as if the signal went on for a window at both ends
        pad = edge_pad(fs, window_s)
        table = segment_beats(
            np.asarray(r, dtype=np.int64) + pad, n_samples + 2 * pad, fs, rule="fixed",
            window_s=window_s,
        )  # fmt: skip
        table[["r", "start", "end"]] -= pad
        return table.assign(edge=(table["start"] < 0) | (table["end"] > n_samples))
    table = segment_beats(r, n_samples, fs, rule=rule).assign(edge=False)
    peaks = np.asarray(r, dtype=np.int64)
    missing = np.setdiff1d(np.arange(len(peaks)), table["beat"].to_numpy())
    if len(peaks) < 2 or len(missing) == 0:
        return table
    local, mean = _local_rr(peaks, fs)
    rows = []
    for k in missing:
        beat_r = int(peaks[k])
        before = beat_r - int(peaks[k - 1]) if k > 0 else None
        after = int(peaks[k + 1]) - beat_r if k < len(peaks) - 1 else None
        before, after = before or after, after or before
        start, end = max(beat_r - before // 2, 0), min(beat_r + after // 2, n_samples)
        if end - start >= 2:
            rows.append({
                "beat": k, "r": beat_r, "start": start, "end": end, "rr_prev_s": before / fs,
                "rr_next_s": after / fs, "rr_local_s": local[k], "rr_mean_s": mean, "edge": True,
            })  # fmt: skip
    edges = pd.DataFrame(rows, columns=table.columns)
    both = pd.concat([table, edges.astype(table.dtypes.to_dict())], ignore_index=True)
    return both.sort_values("r", ignore_index=True)


def _local_rr(r: np.ndarray, fs: float) -> tuple[np.ndarray, float]:
    """Mean RR (s) of the intervals within LOCAL_RR_BEATS beats of each beat, and overall."""
    rr = np.diff(r) / fs
    if len(rr) == 0:
        return np.full(len(r), np.nan), float("nan")
    # interval j lies between beats j and j + 1; beat i uses intervals i - k .. i + k - 1
    k = LOCAL_RR_BEATS
    csum = np.concatenate([[0.0], np.cumsum(rr)])
    i = np.arange(len(r))
    lo, hi = np.clip(i - k, 0, len(rr)), np.clip(i + k, 0, len(rr))
    local = (csum[hi] - csum[lo]) / np.maximum(hi - lo, 1)
    return local, float(rr.mean())


def match_to_reference(
    detected: np.ndarray, reference: np.ndarray, fs: float, window_s: float = MATCH_WINDOW_S
) -> np.ndarray:
    """Index of the nearest reference beat within ``window_s`` of each detection, else -1.

    Parameters
    ----------
    detected, reference : (n,), (m,) int arrays
        Sample numbers, increasing.
    """
    detected = np.asarray(detected, dtype=np.int64)
    reference = np.asarray(reference, dtype=np.int64)
    if len(reference) == 0:
        return np.full(len(detected), -1, dtype=np.int64)
    right = np.clip(np.searchsorted(reference, detected), 0, len(reference) - 1)
    left = np.clip(right - 1, 0, len(reference) - 1)
    nearer_left = np.abs(reference[left] - detected) <= np.abs(reference[right] - detected)
    nearest = np.where(nearer_left, left, right)
    ok = np.abs(reference[nearest] - detected) <= window_s * fs
    return np.where(ok, nearest, -1)


def segment_record(
    record: Record,
    rule: str = "seed",
    *,
    rpeaks: np.ndarray | None = None,
    neighbours: str = "beats",
    window_s: tuple[float, float] = FIXED_WINDOW_S,
) -> pd.DataFrame:
    """The beat table of one record.

    Parameters
    ----------
    record : Record
        From :func:`ecgutils.data.load_record`.
    rule : {"seed", "paper", "fixed"}
        Segmentation rule (module docstring).
    rpeaks : (n,) int array, optional
        Detected R peaks (deployment). Default: the reference beat annotations (training).
        Detected beats take the label of the reference beat within 150 ms, if any.
    neighbours : {"beats", "annotations"}
        For ``seed``: neighbours are the beats (ours), or every annotation mark as well
        (the original code).

    Returns
    -------
    DataFrame
        Columns :data:`BEAT_COLUMNS`: ``record``; ``beat`` (index into ``record.beats``, -1 for
        an unmatched detection); ``r``, ``start``, ``end`` in samples; ``symbol``;
        ``rr_prev_s``, ``rr_next_s`` in seconds; and the class index of the beat in every
        scheme (``seed7``, ``paper8``, ``aami5``; -1 where the scheme leaves it out).
    """
    if neighbours not in ("beats", "annotations"):
        raise ValueError(f"neighbours must be 'beats' or 'annotations', got {neighbours!r}.")
    ref = record.beats.sample
    r = ref if rpeaks is None else np.unique(np.asarray(rpeaks, dtype=np.int64))
    nb = None
    if neighbours == "annotations":
        nb = np.union1d(r, np.concatenate([ref, record.marks.sample]))
    table = segment_beats(
        r, len(record.signal), record.fs, rule=rule, neighbours=nb, window_s=window_s
    )
    if rpeaks is None:
        ref_index = table["beat"].to_numpy()
    else:
        ref_index = match_to_reference(table["r"].to_numpy(), ref, record.fs)
    symbols = np.where(ref_index >= 0, record.beats.symbol[np.clip(ref_index, 0, None)], "")
    table["beat"] = ref_index
    table.insert(0, "record", record.name)
    table.insert(5, "symbol", symbols.astype(str))
    for scheme in SCHEMES:
        table[scheme] = label_symbols(symbols, scheme).astype(np.int8)
    return table[BEAT_COLUMNS]


def segment_records(
    records: str | int | Iterable[str | int] | None = None,
    rule: str = "seed",
    *,
    neighbours: str = "beats",
    window_s: tuple[float, float] = FIXED_WINDOW_S,
) -> pd.DataFrame:
    """Beat tables of several MIT-BIH records (MLII lead), concatenated. ``None``: all 48."""
    frames = [
        segment_record(load_record(name), rule, neighbours=neighbours, window_s=window_s)
        for name in check_record_names(records)
    ]
    return pd.concat(frames, ignore_index=True)


def compare_neighbours(records: str | int | Iterable[str | int] | None = None) -> dict:
    """How the ``seed`` rule changes when every annotation mark counts as a neighbour.

    Returns
    -------
    dict
        ``beats`` and ``paper8`` counts for ``ours`` (beats as neighbours) and ``original``
        (every annotation as neighbour, as the re-implementation did), and ``moved`` /
        ``moved_paper8``: beats cut by both whose window differs.
    """
    ours = segment_records(records, "seed")
    original = segment_records(records, "seed", neighbours="annotations")
    both = ours.merge(original, on=["record", "beat"], suffixes=("", "_original"))
    moved = (both["start"] != both["start_original"]) | (both["end"] != both["end_original"])
    return {
        "ours": {"beats": len(ours), "paper8": int((ours["paper8"] >= 0).sum())},
        "original": {"beats": len(original), "paper8": int((original["paper8"] >= 0).sum())},
        "moved": int(moved.sum()),
        "moved_paper8": int((moved & (both["paper8"] >= 0)).sum()),
    }
