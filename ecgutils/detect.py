"""R-peak detection, and how well each detector finds the reference beats.

Detectors (``method=``):

* ``hamilton``, ``christov``, ``engzee``: biosppy's segmenters, run as ``biosppy.signals.ecg.ecg``
  runs them: on the signal band-passed 3-45 Hz (FIR, order 0.3 fs), then moved to the
  nearest filtered-signal maximum with ``correct_rpeaks`` (50 ms).
* ``xqrs``, ``gqrs``: wfdb's detectors, on the raw signal.
* ``pantompkins``: the course's own (:func:`pan_tompkins`), Pan & Tompkins (1985) written with
  numpy: band-pass, derivative, squaring, moving-window integration; adaptive thresholds with
  search-back; the T-wave check and its mirror for tall P waves; each beat then moved to its R
  peak (:func:`snap_to_r`), where MIT-BIH's annotations sit. Deployment uses it: on the 48
  records it finds beats as well as gqrs, ten to twenty times faster (chapter 02's table).

Always pass the real sampling rate: biosppy's default is 1000 Hz. biosppy sizes its windows
with ``int(seconds * fs)``, and at 360 Hz ``0.35 * 360`` is ``125.99999999999999`` in floating
point, so ``int`` gives 125 where 126 was meant. In ``christov_segmenter`` that one sample
breaks a running sum that should cancel (the max of the newest 50 ms minus the max of the
oldest 50 ms of a 350 ms window): the threshold creeps up, and after a few minutes no beat
passes. The course hands biosppy ``fs * (1 + 1e-9)``, which rounds as intended and changes
nothing else.

``refine=True`` adds the T-wave check of Pan & Tompkins (1985): a detection less than 360 ms
after the previous one whose steepest slope is less than half of that beat's is a T wave, and
is dropped.

Evaluation follows ANSI/AAMI EC57 for QRS detection: a detection matches a reference beat
within 150 ms (``wfdb.processing.compare_annotations``); ventricular flutter waves (``!``)
and detections inside flutter/fibrillation episodes (between ``[`` and ``]``) are left out.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from . import store
from .data import Record, check_record_names, expected_checksums, load_record

#: Detectors, in the order the course presents them.
DETECTORS: tuple[str, ...] = ("hamilton", "christov", "engzee", "xqrs", "gqrs", "pantompkins")
#: biosppy's ECG band-pass (``biosppy.signals.ecg.ecg``), Hz.
BIOSPPY_BAND_HZ: tuple[float, float] = (3.0, 45.0)
#: Matching tolerance of EC57, seconds.
MATCH_WINDOW_S = 0.150


def bandpass(signal: np.ndarray, fs: float) -> np.ndarray:
    """biosppy's ECG pre-filter: FIR band-pass 3-45 Hz of order ``int(0.3 * fs)``, zero phase.

    Parameters
    ----------
    signal : (n,) float array, mV
    fs : float, Hz
    """
    from biosppy.signals import tools

    filtered, _, _ = tools.filter_signal(
        signal=np.asarray(signal, dtype=float),
        ftype="FIR",
        band="bandpass",
        order=int(0.3 * fs),
        frequency=list(BIOSPPY_BAND_HZ),
        sampling_rate=fs,
    )
    return filtered


def _check_fs(fs: float) -> float:
    fs = float(fs)
    if not 50.0 <= fs <= 10_000.0:
        raise ValueError(f"Sampling rate {fs} Hz is outside 50-10,000 Hz; pass the real rate.")
    return fs


def reject_t_waves(
    signal: np.ndarray, peaks: np.ndarray, fs: float, *, within_s: float = 0.36, ratio: float = 0.5
) -> np.ndarray:
    """Drop detections that look like T waves (Pan & Tompkins 1985).

    A detection less than ``within_s`` after the previous kept one, whose steepest slope
    (in the 5-15 Hz band, within 75 ms of it) is below ``ratio`` times that beat's, is dropped.

    Returns
    -------
    (m,) int64 array, the kept peaks.
    """
    from scipy import signal as ss

    peaks = np.asarray(peaks, dtype=np.int64)
    if len(peaks) < 2:
        return peaks
    b, a = ss.butter(2, [5.0, 15.0], btype="bandpass", fs=fs)
    slope = np.abs(np.gradient(ss.filtfilt(b, a, np.asarray(signal, dtype=float))))
    half = int(round(0.075 * fs))
    windows = np.clip(peaks[:, None] + np.arange(-half, half + 1)[None, :], 0, len(signal) - 1)
    steepest = slope[windows].max(axis=1)
    keep = np.ones(len(peaks), dtype=bool)
    last = 0
    for i in range(1, len(peaks)):
        if peaks[i] - peaks[last] < within_s * fs and steepest[i] < ratio * steepest[last]:
            keep[i] = False
        else:
            last = i
    return peaks[keep]


def pan_tompkins(
    signal: np.ndarray,
    fs: float,
    *,
    band_hz: tuple[float, float] = (3.0, 25.0),
    window_s: float = 0.150,
    refractory_s: float = 0.200,
    threshold: float = 0.15,
    within_s: float = 0.36,
    ratio: float = 0.5,
) -> np.ndarray:
    """R peaks by Pan & Tompkins (1985), vectorised except for one pass over candidate peaks.

    1. The lead is band-passed (``band_hz``, Butterworth order 2, zero phase), differentiated,
       squared and averaged over ``window_s`` (moving-window integration): one bump per QRS.
    2. Candidates: the bumps' maxima at least ``refractory_s`` apart.
    3. One pass over the candidates with two running levels, of beats (SPK) and of noise (NPK):
       a candidate above ``NPK + threshold * (SPK - NPK)`` is a beat, unless it comes less than
       ``within_s`` after the previous beat with less than ``ratio`` times its steepest
       5-15 Hz slope (a T wave). When no beat came for 1.66 mean RR intervals, the tallest
       candidate in the gap above half the threshold is taken (search-back).
    4. The mirror of the T-wave check: a beat followed within ``within_s`` by one more than
       1 / ``ratio`` times steeper is a P wave (record 108), and is dropped.
    5. :func:`snap_to_r` moves each beat to its R peak.

    The band (3-25 Hz, wider than the original 5-15 Hz) and the threshold (0.15, lower than the
    original 0.25) keep wide, slow beats (aberrant APCs, many PVCs), whose energy sits lower.

    Parameters
    ----------
    signal : (n,) float array, mV
    fs : float, Hz

    Returns
    -------
    (m,) int64 array
        Increasing sample numbers of the R peaks.
    """
    from scipy import signal as ss

    x = np.asarray(signal, dtype=float)
    band = ss.sosfiltfilt(ss.butter(2, band_hz, btype="bandpass", fs=fs, output="sos"), x)
    slope = np.gradient(band)
    w = max(int(round(window_s * fs)), 1)
    energy = np.convolve(slope * slope, np.ones(w) / w, mode="same")
    cand, _ = ss.find_peaks(energy, distance=max(int(refractory_s * fs), 1))
    if len(cand) == 0:
        return cand.astype(np.int64)
    peaks, height = cand, energy[cand]
    steep = _steepest(x, cand, fs)
    start = energy[: int(2 * fs)]
    spk, npk = 0.25 * float(start.max()), 0.5 * float(start.mean())
    # the pass below reads one number at a time: Python lists are many times faster at that
    cand, height, steep = cand.tolist(), height.tolist(), steep.tolist()
    beats: list[int] = []  # indices into cand
    rr: list[int] = []
    k = 0
    while k < len(cand):
        level = npk + threshold * (spk - npk)
        if len(rr) and cand[k] - cand[beats[-1]] > 1.66 * sum(rr[-8:]) / len(rr[-8:]):
            lo = np.searchsorted(peaks, cand[beats[-1]] + int(refractory_s * fs))
            gap = [j for j in range(lo, k) if height[j] > 0.5 * level]
            if gap:  # search-back: the tallest candidate of the gap is a beat
                j = max(gap, key=height.__getitem__)
                rr.append(cand[j] - cand[beats[-1]])
                beats.append(j)
                spk = 0.25 * height[j] + 0.75 * spk
                continue  # look at candidate k again, after the beat found in the gap
        if height[k] > level:
            if (
                beats
                and cand[k] - cand[beats[-1]] < within_s * fs
                and (steep[k] < ratio * steep[beats[-1]])
            ):
                npk = 0.125 * height[k] + 0.875 * npk  # a T wave
            else:
                if beats:
                    rr.append(cand[k] - cand[beats[-1]])
                beats.append(k)
                spk = 0.125 * height[k] + 0.875 * spk
        else:
            npk = 0.125 * height[k] + 0.875 * npk
        k += 1
    idx = np.array(sorted(set(beats)), dtype=np.int64)
    steep = np.asarray(steep)
    close = np.diff(peaks[idx]) < within_s * fs
    p_wave = np.append(close & (steep[idx[:-1]] < ratio * steep[idx[1:]]), False)
    return snap_to_r(x, peaks[idx[~p_wave]], fs)


def _steepest(x: np.ndarray, peaks: np.ndarray, fs: float) -> np.ndarray:
    """Steepest 5-15 Hz slope within 75 ms of each peak (the T-wave check's measure)."""
    from scipy import signal as ss

    sos = ss.butter(2, [5.0, 15.0], btype="bandpass", fs=fs, output="sos")
    slope = np.abs(np.gradient(ss.sosfiltfilt(sos, x)))
    half = int(round(0.075 * fs))
    windows = np.clip(peaks[:, None] + np.arange(-half, half + 1)[None, :], 0, len(x) - 1)
    return slope[windows].max(axis=1)


def snap_to_r(
    signal: np.ndarray, peaks: np.ndarray, fs: float, *, within_s: float = 0.075
) -> np.ndarray:
    """Move each detection to its R peak: the sample within ``within_s`` that lies farthest
    from the median of the surrounding 0.6 s (up or down, so a negative PVC counts).

    MIT-BIH's annotations sit there; gqrs, for one, marks a point about 33 ms earlier, and a
    beat cut around that point is not the beat the model was trained on.

    Returns
    -------
    (m,) int64 array, increasing and without repeats.
    """
    x = np.asarray(signal, dtype=float)
    peaks = np.asarray(peaks, dtype=np.int64)
    if len(peaks) == 0:
        return peaks
    n = len(x)
    half, ctx = int(round(within_s * fs)), int(round(0.3 * fs))
    near = np.clip(peaks[:, None] + np.arange(-half, half + 1)[None, :], 0, n - 1)
    around = np.clip(peaks[:, None] + np.arange(-ctx, ctx + 1)[None, :], 0, n - 1)
    base = np.median(x[around], axis=1)
    best = np.abs(x[near] - base[:, None]).argmax(axis=1)
    return np.unique(near[np.arange(len(peaks)), best])


def detect_rpeaks(
    signal: np.ndarray, fs: float, method: str = "gqrs", *, refine: bool = False
) -> np.ndarray:
    """R-peak sample numbers of an ECG lead.

    Parameters
    ----------
    signal : (n,) float array
        One lead, in mV.
    fs : float
        Its sampling rate in Hz. Required: biosppy's own default (1000 Hz) is wrong for
        MIT-BIH (360 Hz).
    method : str
        One of :data:`DETECTORS`.
    refine : bool
        Apply :func:`reject_t_waves` afterwards.

    Returns
    -------
    (m,) int64 array
        Increasing sample numbers.
    """
    fs = _check_fs(fs)
    x = np.asarray(signal, dtype=float)
    if x.ndim != 1 or len(x) < 2 * fs:
        raise ValueError(
            f"Need a 1-D signal of at least 2 s ({int(2 * fs)} samples), got {x.shape}."
        )
    if method in ("hamilton", "christov", "engzee"):
        from biosppy.signals import ecg

        filtered = bandpass(x, fs)
        segmenter = getattr(ecg, f"{method}_segmenter")
        (found,) = segmenter(signal=filtered, sampling_rate=fs * (1 + 1e-9))
        (found,) = ecg.correct_rpeaks(signal=filtered, rpeaks=found, sampling_rate=fs, tol=0.05)
    elif method == "xqrs":
        from wfdb import processing

        found = processing.xqrs_detect(x, fs, verbose=False)
    elif method == "gqrs":
        from wfdb import processing

        found = processing.gqrs_detect(x, fs=fs)
    elif method == "pantompkins":
        found = pan_tompkins(x, fs)
    else:
        raise ValueError(f"Unknown detector {method!r}; choose one of {', '.join(DETECTORS)}.")
    peaks = np.unique(np.asarray(found, dtype=np.int64))
    return reject_t_waves(x, peaks, fs) if refine else peaks


def scoring_reference(record: Record) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """EC57 reference for QRS detection: beat samples without flutter waves, and VF episodes."""
    ref = record.beats.sample[record.beats.symbol != "!"]
    starts = record.marks.sample[record.marks.symbol == "["]
    ends = record.marks.sample[record.marks.symbol == "]"]
    episodes = []
    for s in starts:
        after = ends[ends >= s]
        episodes.append((int(s), int(after[0]) if len(after) else len(record.signal)))
    return ref, episodes


def match_detections(
    record: Record, peaks: np.ndarray, *, start: int = 0, stop: int | None = None
) -> dict[str, np.ndarray]:
    """Which reference beats the detections found, which they missed, which detections are
    false: EC57 matching (module docstring), within the samples ``start:stop``.

    Returns
    -------
    dict of (k,) int64 sample arrays: ``found`` (reference beats matched), ``missed``
    (reference beats without a detection: false negatives), ``false`` (detections without a
    reference beat: false positives).
    """
    from wfdb import processing

    stop = len(record.signal) if stop is None else stop
    ref, episodes = scoring_reference(record)
    ref = ref[(ref >= start) & (ref < stop)]
    peaks = np.asarray(peaks, dtype=np.int64)
    keep = (peaks >= start) & (peaks < stop)
    for s, e in episodes:
        keep &= ~((peaks >= s) & (peaks <= e))
    peaks = peaks[keep]
    if len(ref) == 0 or len(peaks) == 0:  # compare_annotations needs both
        none = np.array([], dtype=np.int64)
        return {"found": none, "missed": ref.astype(np.int64), "false": peaks}
    cmp = processing.compare_annotations(ref, peaks, int(round(MATCH_WINDOW_S * record.fs)))
    return {
        "found": np.asarray(cmp.matched_ref_sample, dtype=np.int64),
        "missed": np.asarray(cmp.unmatched_ref_sample, dtype=np.int64),
        "false": np.asarray(cmp.unmatched_test_sample, dtype=np.int64),
    }


def score_detections(record: Record, peaks: np.ndarray) -> dict[str, float]:
    """TP, FP, FN, sensitivity and positive predictivity of detections against the reference.

    EC57 conventions (module docstring). Se = TP / (TP + FN), +P = TP / (TP + FP).
    """
    got = match_detections(record, peaks)
    tp, fp, fn = len(got["found"]), len(got["false"]), len(got["missed"])
    return {"tp": tp, "fp": fp, "fn": fn, "se": tp / max(tp + fn, 1), "ppv": tp / max(tp + fp, 1)}


def detect_window(
    record: Record,
    start_s: float,
    duration_s: float,
    method: str = "pantompkins",
    *,
    refine: bool = False,
    fs: float | None = None,
    margin_s: float = 10.0,
) -> np.ndarray:
    """R peaks of ``record`` between ``start_s`` and ``start_s + duration_s`` (record samples),
    detected on that stretch with ``margin_s`` more on each side (detectors adapt their
    thresholds over the first seconds).

    ``fs`` is the rate handed to the detector (default: the record's own): pass a wrong one to
    see what a file read at the wrong rate does to detection.
    """
    n = len(record.signal)
    lo = int(max(round((start_s - margin_s) * record.fs), 0))
    hi = int(min(round((start_s + duration_s + margin_s) * record.fs), n))
    peaks = lo + detect_rpeaks(record.signal[lo:hi], fs or record.fs, method, refine=refine)
    i0, i1 = round(start_s * record.fs), round((start_s + duration_s) * record.fs)
    return peaks[(peaks >= i0) & (peaks < i1)]


def detections_spec(record: str, method: str) -> store.Spec:
    """The store entry of one record's detections by one detector (its key: the detector,
    the record's published checksums, this module's code, the libraries' versions)."""
    sums = expected_checksums()
    return store.Spec(
        kind="rpeaks",
        label=f"{method}-{record}",
        params={"record": record, "method": method, "lead": "MLII"},
        module=__name__,
        data=store.key_of([sums[f"{record}.{e}"] for e in ("hea", "dat")]),
        libraries=("numpy", "scipy", "wfdb", "biosppy"),
    )


def cached_detections(record: str, method: str) -> np.ndarray:
    """Detections of one MIT-BIH record (MLII) by one detector, kept in the store
    (:mod:`ecgutils.store`, ``data/cache/rpeaks/``).

    Returns
    -------
    (n,) int64 array
        Sample numbers at 360 Hz.
    """

    def build(folder):
        rec = load_record(record, warn=False)
        np.save(folder / "peaks.npy", detect_rpeaks(rec.signal, rec.fs, method))

    folder, _ = store.get_or_build(detections_spec(record, method), build)
    return np.load(folder / "peaks.npy")


def _evaluate_one(args: tuple[str, str]) -> list[dict]:
    name, method = args
    rec = load_record(name, warn=False)  # the MLII fallback of 102 and 104: chapter 01's lesson
    raw = cached_detections(name, method)
    rows = []
    for refine in (False, True):
        peaks = reject_t_waves(rec.signal, raw, rec.fs) if refine else raw
        rows.append(
            {"record": name, "detector": method, "refine": refine, **score_detections(rec, peaks)}
        )
    return rows


def evaluate_detectors(
    records: str | int | Iterable[str | int] | None = None,
    methods: Sequence[str] = DETECTORS,
    *,
    n_jobs: int | None = None,
    progress: bool = True,
) -> pd.DataFrame:
    """Score detectors on MIT-BIH records, each with and without the T-wave check.

    Detections are cached under ``data/cache``; the first run over all 48 records takes a few
    minutes on two cores, later runs seconds.

    Returns
    -------
    DataFrame
        One row per record, detector and ``refine`` flag: tp, fp, fn, se, ppv.
    """

    names = check_record_names(records)
    unknown = [m for m in methods if m not in DETECTORS]
    if unknown:
        raise ValueError(f"Unknown detector(s) {unknown}; choose from {', '.join(DETECTORS)}.")
    tasks = [(n, m) for m in methods for n in names]
    n_jobs = n_jobs or min(os.cpu_count() or 1, len(tasks))
    bar = tqdm(total=len(tasks), desc="Detecting R peaks", unit="record", disable=not progress)
    rows: list[dict] = []
    if n_jobs > 1:
        with ProcessPoolExecutor(n_jobs) as pool:
            for result in pool.map(_evaluate_one, tasks):
                rows.extend(result)
                bar.update()
    else:
        for task in tasks:
            rows.extend(_evaluate_one(task))
            bar.update()
    bar.close()
    return pd.DataFrame(rows)


def summarize_detectors(table: pd.DataFrame) -> pd.DataFrame:
    """Gross Se and +P (in %) per detector and refine flag, over the records of ``table``."""
    gross = table.groupby(["detector", "refine"], sort=False)[["tp", "fp", "fn"]].sum()
    gross["Se (%)"] = 100 * gross["tp"] / (gross["tp"] + gross["fn"])
    gross["+P (%)"] = 100 * gross["tp"] / (gross["tp"] + gross["fp"])
    gross["records"] = table.groupby(["detector", "refine"], sort=False)["record"].nunique()
    return gross
