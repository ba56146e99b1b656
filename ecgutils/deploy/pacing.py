"""Paced beats said: which part of a recording looks paced, so the answer can say so (issue 31).

The deployed classifiers learnt the heart's own beats (AAMI N, S, V, F); a pacemaker's beats are
AAMI Q and were never shown to them, so they come out as N or V. This module finds them, in two
steps:

1. **Each beat** (:func:`pacing_features`): five numbers a pacemaker changes, in the units of the
   beat's neighbourhood (its typical QRS height): the sharpest bend and the steepest slope just
   before and at the QRS (a pacing spike, where the recording's bandwidth keeps one), the same
   bend against the neighbourhood's usual one, and how wide the beat and its neighbourhood's
   template are (a paced ventricle conducts slowly: a wide QRS). Small gradient-boosted trees
   (:class:`PacingDetector`, depth 2) give each beat a probability of being paced.
2. **Each window** of the recording (ten minutes, :data:`ecgutils.deploy.windows.WINDOW_S`): when
   at least :data:`GATE_SHARE` of its beats look paced, the window is *paced*: its paced-looking
   beats are reported as Q ("Paced") and the answer says at its top that the classes of the
   others there are not to be trusted either. A single paced-looking beat in a window that is not
   paced says nothing (a wide PVC or a notched beat): per beat, the detector errs on whole
   patients, per window it did not (``python -m ecgutils bench paced``).

Only four MIT-BIH patients are paced (102, 104, 107, 217): ``bench paced`` measures the detector on
each of them trained on the other three (a new paced patient), which is the figure to trust; the
shipped detector (:data:`PACING_DIR`, ``python -m ecgutils ship-model --kind pacing``) learnt from
all four.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import sklearn
from sklearn.ensemble import HistGradientBoostingClassifier

from ..classes import BEAT_SYMBOLS
from ..data import load_record
from ..render import remove_baseline
from .windows import WINDOW_S

#: The annotation symbols of paced beats: paced, and fusion of paced and normal.
PACED_SYMBOLS = ("/", "f")
#: Where the shipped detector and its card live.
PACING_DIR = Path(__file__).parents[1] / "resources" / "pacing"
#: A window is paced when at least this share of its beats looks paced.
GATE_SHARE = 0.5
#: ... and it holds at least this many beats: a strip of a few seconds is too short to judge.
GATE_MIN_BEATS = 30
#: A beat looks paced above this probability.
THRESHOLD = 0.5
#: Where a pacing spike is looked for, s around R: it comes at the QRS onset.
SPIKE_S = (-0.12, 0.03)
#: The beat's span for its width, s around R, and the bins it is averaged in, s.
SPAN_S, BIN_S = (-0.2, 0.4), 0.012
#: Half the QRS, s: its height (the neighbourhood's unit) is the peak-to-peak within it.
QRS_HALF_S = 0.06
#: A bin counts as part of the beat above this share of the unit (the typical QRS height).
WIDTH_LEVEL = 0.25
#: The names of the five numbers :func:`pacing_features` gives each beat.
FEATURES = ("spike", "spike / usual", "slope", "width", "template width")


def _at(x: np.ndarray, peaks: np.ndarray, lo_s: float, hi_s: float, fs: float) -> np.ndarray:
    """(n, m) indices of the samples from ``lo_s`` to ``hi_s`` around each peak, kept inside x
    (and one sample from its ends, for the differences)."""
    offsets = np.arange(int(round(lo_s * fs)), int(round(hi_s * fs)))
    return np.clip(peaks[:, None] + offsets[None, :], 1, len(x) - 2)


def pacing_features(
    x: np.ndarray, fs: float, peaks: np.ndarray, rows: np.ndarray | None = None
) -> np.ndarray:
    """Five numbers per beat that tell a paced beat (:data:`FEATURES`).

    Parameters
    ----------
    x : (n_samples,) float array
        A neighbourhood of the recording, mV, baseline removed
        (:func:`ecgutils.render.remove_baseline`), at ``fs`` Hz (the model's rate).
    peaks : (n_beats,) int array
        Every R peak of the neighbourhood, samples of ``x``: its unit (the median QRS
        peak-to-peak), usual bend and template come from all of them.
    rows : (m,) int array, optional
        The beats to describe (default all).

    Returns
    -------
    (m, 5) float32 array: the sharpest bend (second difference) and the steepest slope (first
    difference) in :data:`SPIKE_S`, per sample, in units; the bend over the neighbourhood's median
    bend; the beat's width and its template's, in bins of :data:`BIN_S` above
    :data:`WIDTH_LEVEL` units.
    """
    x = np.asarray(x, dtype=np.float32)
    peaks = np.asarray(peaks, dtype=np.int64)
    rows = np.arange(len(peaks)) if rows is None else np.asarray(rows, dtype=np.int64)
    if len(peaks) == 0 or len(x) < 3:
        return np.zeros((len(rows), len(FEATURES)), np.float32)
    q = _at(x, peaks, -QRS_HALF_S, QRS_HALF_S, fs)
    unit = max(float(np.median(np.ptp(x[q], axis=1))), 1e-3)
    s = _at(x, peaks, *SPIKE_S, fs)
    bend_all = np.abs(x[s + 1] - 2 * x[s] + x[s - 1]).max(axis=1) / unit
    usual = max(float(np.median(bend_all)), 1e-6)
    bend, slope = bend_all[rows], (np.abs(x[s[rows] + 1] - x[s[rows]]).max(axis=1) / unit)
    b = max(1, int(round(BIN_S * fs)))
    n_bins = int(round((SPAN_S[1] - SPAN_S[0]) / BIN_S))
    span = _at(x, peaks, SPAN_S[0], SPAN_S[0] + n_bins * b / fs, fs)[:, : n_bins * b]
    traces = x[span] / unit
    binned = traces.reshape(len(peaks), -1, b).mean(axis=2)
    width = (np.abs(binned[rows]) > WIDTH_LEVEL).sum(axis=1)
    template_width = (np.abs(np.median(binned, axis=0)) > WIDTH_LEVEL).sum()
    return np.column_stack(
        [bend, bend / usual, slope, width, np.full(len(rows), template_width)]
    ).astype(np.float32)


class PacingDetector:
    """Small gradient-boosted trees on :func:`pacing_features`: the probability that a beat is
    paced, and :meth:`paced_windows`, the gate.

    Parameters
    ----------
    max_iter, max_depth, min_samples_leaf : int
        scikit-learn's ``HistGradientBoostingClassifier`` settings: few, shallow trees with
        large leaves, so that they learn what paced beats share rather than four patients.
    seed : int
    """

    def __init__(self, max_iter: int = 100, max_depth: int = 2, min_samples_leaf: int = 200,
                 seed: int = 0):  # fmt: skip
        self.max_iter, self.max_depth = max_iter, max_depth
        self.min_samples_leaf, self.seed = min_samples_leaf, seed

    def fit(self, features: np.ndarray, paced: np.ndarray) -> PacingDetector:
        """Learn from (n, 5) features and (n,) bool labels (True: paced or fusion of paced)."""
        self.model_ = HistGradientBoostingClassifier(
            max_iter=self.max_iter, max_depth=self.max_depth,
            min_samples_leaf=self.min_samples_leaf, random_state=self.seed,
        ).fit(features, np.asarray(paced, dtype=bool))  # fmt: skip
        return self

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        """(n,) float: each beat's probability of being paced."""
        if len(features) == 0:
            return np.zeros(0)
        return self.model_.predict_proba(features)[:, 1]


def paced_windows(probability: np.ndarray, window: np.ndarray) -> np.ndarray:
    """(n,) bool: the beats in a paced window, one of at least :data:`GATE_MIN_BEATS` beats of
    which at least :data:`GATE_SHARE` look paced (``probability`` above :data:`THRESHOLD`);
    ``window``: each beat's window number."""
    window = np.asarray(window, dtype=np.int64)
    if len(window) == 0:
        return np.zeros(0, dtype=bool)
    looks = np.asarray(probability) > THRESHOLD
    beats = np.bincount(window)
    share = np.bincount(window, looks) / np.maximum(beats, 1)
    return (share >= GATE_SHARE)[window] & (beats >= GATE_MIN_BEATS)[window]


def training_beats(records, window_s: float = WINDOW_S) -> tuple[np.ndarray, ...]:
    """:func:`pacing_features` of the reference beats of MIT-BIH ``records`` (the first lead, as
    deployment reads a file), each window of ``window_s`` its own neighbourhood as in deployment:
    (features, paced labels, record of each beat)."""
    feats, labels, names = [], [], []
    for name in records:
        rec = load_record(name, warn=False)
        x = remove_baseline(rec.signal, rec.fs)
        keep = np.isin(rec.beats.symbol, sorted(BEAT_SYMBOLS))
        r, sym = rec.beats.sample[keep], rec.beats.symbol[keep]
        step = int(window_s * rec.fs)
        for a in range(0, len(x), step):
            m = (r >= a) & (r < a + step)
            if m.any():
                feats.append(pacing_features(x, rec.fs, r[m]))
                labels.append(np.isin(sym[m], PACED_SYMBOLS))
                names.append(np.full(int(m.sum()), name))
    return np.concatenate(feats), np.concatenate(labels), np.concatenate(names)


def save_detector(detector: PacingDetector, folder: str | Path, card: dict) -> None:
    """Write the detector (scikit-learn's model, a pickle) and its card (JSON) in ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "pacing.pkl", "wb") as f:
        pickle.dump(detector.model_, f)
    names = ("max_iter", "max_depth", "min_samples_leaf", "seed")
    card = {
        **card, "params": {k: getattr(detector, k) for k in names},
        "scikit-learn": sklearn.__version__, "features": list(FEATURES),
        "gate_share": GATE_SHARE, "threshold": THRESHOLD,
    }  # fmt: skip
    (folder / "card.json").write_text(json.dumps(card, indent=1) + "\n")


def load_detector(folder: str | Path = PACING_DIR) -> PacingDetector:
    """The detector :func:`save_detector` wrote (a pickle: trusted folders only)."""
    folder = Path(folder)
    try:
        card = json.loads((folder / "card.json").read_text())
        with open(folder / "pacing.pkl", "rb") as f:
            model = pickle.load(f)
    except Exception as exc:  # missing, damaged, or of another scikit-learn
        raise ValueError(
            f"Cannot load the pacing detector in {folder} ({type(exc).__name__}: {exc}): run "
            "`python -m ecgutils ship-model --kind pacing` to train and save it again."
        ) from None
    detector = PacingDetector(**card.get("params", {}))
    detector.model_ = model
    return detector


def pacing_note(paced: np.ndarray, window_paced: np.ndarray, r_s: np.ndarray) -> str | None:
    """The line an answer opens with when part of the recording looks paced, else None.

    ``paced``: beats reported as paced; ``window_paced``: beats in a paced window; ``r_s``: each
    beat's time, s."""
    window_paced = np.asarray(window_paced, dtype=bool)
    if not window_paced.any():
        return None
    t = np.asarray(r_s)
    # each run of consecutive beats in paced windows, from its first beat to its last
    edges = np.flatnonzero(np.diff(np.r_[0, window_paced.astype(np.int8), 0]))
    runs = [f"{_clock(t[a])} to {_clock(t[b - 1])}" for a, b in zip(edges[::2], edges[1::2])]
    spans = ", ".join(runs[:3]) + (f" and {len(runs) - 3} more parts" if len(runs) > 3 else "")
    n_paced, n_in = int(np.sum(paced)), int(window_paced.sum())
    others = n_in - n_paced
    return (
        f"This recording looks paced from {spans}: {n_paced:,} of the {n_in:,} beats there have a "
        "paced shape and are reported as Q (Paced). The model never learnt paced rhythm, so the "
        f"classes it gives the other {others:,} beat{'s' if others != 1 else ''} there cannot be "
        "trusted either."
    )


def _clock(s: float) -> str:
    s = int(s)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"
