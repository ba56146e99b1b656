"""Beat features tried for new patients, and the table that scores each set (research notebook 90).

The trees of :mod:`ecgutils.trees` read what the beat image carries (the trace minus the
patient's template) and the RR intervals relative to the patient's rhythm. What else would tell a
supraventricular beat of a patient the model has never seen? This module measures, on the
recording itself:

- :func:`rr_distribution_features`: prematurity against the patient's *own* RR distribution
  (ranks, medians, a robust z-score) and against the few beats before;
- :func:`p_wave_features`: the window where the P wave lies, against the patient's median
  window (shape, amplitude, peak position), in any lead;
- :func:`morphology_difference`: the whole beat minus the patient's median beat, in 20 points,
  for the second lead (V1 in most records: P waves and bundle-branch shapes MLII hides);

and :func:`feature_set_table` scores each set of them with the same trees, first on patient-grouped
folds of DS1 (where the choice is made), then on DS2 once: ``python -m ecgutils experiment run
feature_sets``. The signal features need no label: every template is the median of the record's
:func:`ecgutils.dataset.reference_beats`.

Source: notebook 90 (``notebooks/90_research_new_patients.ipynb``) writes
:func:`rr_distribution_features`, :func:`p_wave_features`, :func:`s_decision_from` (cells marked
``#| export``; a test fails when chapter and package differ).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from .. import store
from ..classes import scheme_classes
from ..config import Profile, get_profile
from ..data import load_record
from ..dataset import BeatDataset, build_dataset, cache_key, reference_beats
from ..evaluate import (
    ds1_only,
    ec57_metrics,
    ec57_row,
    interpatient_rows,
    patient_kfold_splits,
)
from ..selftraining import self_train_record
from ..trees import TREES_BALANCE_POWER, train_trees, tree_features

#: Columns of :func:`rr_distribution_features`.
RR_DISTRIBUTION_COLUMNS = (
    "RR before: rank in the record", "RR before / record median", "RR before: robust z",
    "RR before / median of the 8 before", "RR before / the RR before it", "RR after / RR before",
    "RR after / record median",
)  # fmt: skip
#: Columns of :func:`p_wave_features`.
P_WAVE_COLUMNS = (
    "P correlation", "P peak-to-peak ratio", "P RMS difference", "P peak shift (ms)",
    "P peak ratio", "P best correlation within 60 ms",
)  # fmt: skip
#: Beats before a beat whose median RR is its recent rhythm.
RECENT_BEATS = 8
#: The P-wave window, seconds relative to the R peak.
P_WINDOW_S = (-0.30, -0.06)
#: The whole-beat window of :func:`morphology_difference`, seconds relative to the R peak.
BEAT_WINDOW_S = (-0.25, 0.45)


def rr_distribution_features(beats: pd.DataFrame) -> np.ndarray:
    """How premature each beat is against the patient's own RR intervals.

    The relative RR of :func:`ecgutils.dataset.relative_rr_features` divide by means, which a
    few long pauses or a run of ectopic beats drag; these use ranks and medians of the record's
    intervals (columns in :data:`RR_DISTRIBUTION_COLUMNS`):

    0. the rank of the RR before among all of the record's RR intervals (0 to 1)
    1. RR before / the record's median RR
    2. (RR before - median) / (1.4826 MAD + 10 ms): a robust z-score in the patient's spread
    3. RR before / median of the :data:`RECENT_BEATS` RR intervals before it
    4. RR before / the RR before that (a sudden shortening)
    5. RR after / RR before (a compensatory pause)
    6. RR after / the record's median RR

    Parameters
    ----------
    beats : DataFrame
        A beat table with ``record``, ``rr_prev_s`` and ``rr_next_s``, each record's beats in
        time order (several records may follow each other).

    Returns
    -------
    (n, 7) float32 array
        NaN where an interval is missing (a record's first and last beats): the trees read
        it as missing.
    """
    groups = beats["record"].astype(str).to_numpy()
    prev = pd.Series(beats["rr_prev_s"].to_numpy(float))
    nxt = beats["rr_next_s"].to_numpy(float)
    by = prev.groupby(groups, sort=False)
    median = by.transform("median").to_numpy()
    mad = (prev - median).abs().groupby(groups, sort=False).transform("median").to_numpy()
    before = by.shift(1)
    recent = before.groupby(groups, sort=False).transform(
        lambda v: v.rolling(RECENT_BEATS, min_periods=3).median()
    )
    p = prev.to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        feats = np.column_stack(
            [
                by.rank(pct=True).to_numpy(),
                p / median,
                (p - median) / (1.4826 * mad + 0.01),
                p / recent.to_numpy(),
                p / before.to_numpy(),
                nxt / p,
                nxt / median,
            ]
        )
    feats[~np.isfinite(feats)] = np.nan
    return feats.astype(np.float32)


def butterworth_band(
    signal: np.ndarray, fs: float, low: float = 0.5, high: float = 30.0
) -> np.ndarray:
    """Zero-phase 2nd-order Butterworth band-pass (``low`` to ``high`` Hz) of a signal sampled at
    ``fs`` Hz: the baseline and the mains hum out, the P wave kept."""
    from scipy.signal import butter, sosfiltfilt

    sos = butter(2, [low, high], btype="band", fs=fs, output="sos")
    return sosfiltfilt(sos, np.asarray(signal, dtype=float))


def windows_around(x: np.ndarray, r: np.ndarray, a: int, b: int) -> np.ndarray:
    """(n, b - a) samples ``x[r + a : r + b]`` around each R peak in ``r`` (samples), clipped at
    the signal's edges."""
    idx = np.clip(np.asarray(r)[:, None] + np.arange(a, b)[None, :], 0, len(x) - 1)
    return x[idx]


def row_correlation(windows: np.ndarray, template: np.ndarray) -> np.ndarray:
    """(n,) Pearson correlation of each row of ``windows`` (n, m) with ``template`` (m,)."""
    w = windows - windows.mean(axis=1, keepdims=True)
    t = template - template.mean()
    return (w @ t) / (np.sqrt((w**2).sum(axis=1) * (t**2).sum()) + 1e-9)


def p_wave_features(
    signal: np.ndarray, r: np.ndarray, reference: np.ndarray, fs: float
) -> np.ndarray:
    """The P-wave window of each beat against the patient's (columns :data:`P_WAVE_COLUMNS`).

    The window is :data:`P_WINDOW_S` around each R peak of the band-passed signal
    (:func:`butterworth_band`); the patient's template window is the median of the ``reference``
    beats' windows. An ectopic atrial beat has a P wave of another shape, size or timing, or none:

    0. correlation with the template window
    1. peak-to-peak amplitude / the template's
    2. RMS difference from the template (after removing each window's mean) / template's range
    3. shift of the P peak (the template's largest deflection, same sign) in ms
    4. height of that peak / the template's
    5. the best correlation with the template over shifts of up to 60 ms (a P of the same shape,
       early or late)

    Parameters
    ----------
    signal : (n_samples,) float array, mV, at ``fs`` Hz
    r : (n,) int array
        R-peak samples of the beats.
    reference : (n,) bool array
        Beats whose windows make the template (e.g. :func:`ecgutils.dataset.reference_beats`).
    fs : float
        Sampling rate in Hz.

    Returns
    -------
    (n, 6) float32 array
    """
    x = butterworth_band(signal, fs)
    a, b = (int(round(t * fs)) for t in P_WINDOW_S)
    w = windows_around(x, r, a, b)
    ref = np.asarray(reference, dtype=bool)
    template = np.median(w[ref] if ref.any() else w, axis=0)
    w0 = w - w.mean(axis=1, keepdims=True)
    t0 = template - template.mean()
    span = np.ptp(t0) + 1e-6
    k_t = int(np.argmax(np.abs(t0)))
    sign = np.sign(t0[k_t]) or 1.0
    k = np.argmax(sign * w0, axis=1)
    shift = int(round(0.06 * fs))
    best = np.full(len(w), -1.0)
    for s in range(-shift, shift + 1, max(1, int(round(0.01 * fs)))):
        best = np.maximum(best, row_correlation(windows_around(x, r, a + s, b + s), template))
    feats = np.column_stack(
        [
            row_correlation(w, template),
            np.ptp(w0, axis=1) / span,
            np.sqrt(((w0 - t0) ** 2).mean(axis=1)) / span,
            (k - k_t) / fs * 1000,
            (sign * w0)[np.arange(len(w0)), k] / (abs(t0[k_t]) + 1e-6),
            best,
        ]
    )
    return feats.astype(np.float32)


def morphology_difference(
    signal: np.ndarray, r: np.ndarray, reference: np.ndarray, fs: float, points: int = 20
) -> np.ndarray:
    """Each beat minus the patient's median beat, averaged into ``points`` values.

    The window is :data:`BEAT_WINDOW_S` around each R peak of the band-passed signal; the
    template is the median of the ``reference`` beats' windows; the difference is in units of
    the template's range (peak to peak), so patients with small and large signals compare.

    Returns
    -------
    (n, points) float32 array
    """
    x = butterworth_band(signal, fs)
    a, b = (int(round(t * fs)) for t in BEAT_WINDOW_S)
    w = windows_around(x, r, a, b)
    ref = np.asarray(reference, dtype=bool)
    template = np.median(w[ref] if ref.any() else w, axis=0)
    d = (w - template) / (np.ptp(template) + 1e-6)
    n = d.shape[1] // points * points
    return d[:, :n].reshape(len(d), points, -1).mean(axis=2).astype(np.float32)


def signal_features(
    beats: pd.DataFrame, *, data_dir=None, progress: bool = True
) -> dict[str, np.ndarray]:
    """The signal features of every beat of a beat table, record by record.

    Reads each record's MLII (the course's lead) and its other lead (V1 in 40 of the 48
    records; V2, V4 or V5 in the others).

    Returns
    -------
    dict of str to (n, k) float32 arrays
        ``"P wave, MLII"`` and ``"P wave, second lead"`` (:func:`p_wave_features`) and
        ``"morphology, second lead"`` (:func:`morphology_difference`), rows in the order of
        ``beats``.
    """

    out = {
        "P wave, MLII": np.full((len(beats), len(P_WAVE_COLUMNS)), np.nan, np.float32),
        "P wave, second lead": np.full((len(beats), len(P_WAVE_COLUMNS)), np.nan, np.float32),
        "morphology, second lead": np.full((len(beats), 20), np.nan, np.float32),
    }
    groups = beats.groupby(beats["record"].astype(str), sort=False).indices
    for name, rows in tqdm(groups.items(), desc="Signal features", unit="record",
                           disable=not progress):  # fmt: skip
        sub = beats.iloc[rows]
        r, ref = sub["r"].to_numpy(), reference_beats(sub)
        first = load_record(name, data_dir=data_dir, warn=False)
        other = load_record(
            name, [lead for lead in first.leads if lead != first.lead][0], data_dir=data_dir
        )
        out["P wave, MLII"][rows] = p_wave_features(first.signal, r, ref, first.fs)
        out["P wave, second lead"][rows] = p_wave_features(other.signal, r, ref, other.fs)
        out["morphology, second lead"][rows] = morphology_difference(other.signal, r, ref, other.fs)
    return out


#: The feature sets scored by :func:`feature_set_table`: the groups beside the trees' own
#: features (``recipe``), whether each patient is then self-trained
#: (:func:`ecgutils.selftraining.self_train_record`), and how many tree models are averaged
#: before that (one for speed; the recipe of ``bench interpatient`` averages three).
FEATURE_SETS: dict[str, tuple[tuple[str, ...], bool, int]] = {
    "recipe (trace difference, relative RR, rhythm)": ((), False, 1),
    "+ RR distribution": (("RR distribution",), False, 1),
    "+ P wave, MLII": (("P wave, MLII",), False, 1),
    "+ RR distribution + P wave, MLII": (("RR distribution", "P wave, MLII"), False, 1),
    "+ RR distribution + P wave, both leads": (
        ("RR distribution", "P wave, MLII", "P wave, second lead"), False, 1,
    ),
    "+ RR distribution + second-lead morphology": (
        ("RR distribution", "morphology, second lead"), False, 1,
    ),
    "recipe, self-trained on each patient's unlabelled beats": ((), True, 1),
    "+ P wave, MLII, self-trained": (("P wave, MLII",), True, 1),
    "+ P wave, MLII, self-trained, 3 models before": (("P wave, MLII",), True, 3),
    "recipe, self-trained, 3 models before": ((), True, 3),
}  # fmt: skip

#: Rows of :func:`feature_set_table` that join two sets of :data:`FEATURE_SETS` beat by beat
#: (:func:`s_decision_from`): the first set's trees decide every beat that either set calls S,
#: the second's every other beat.
JOINED_SETS: dict[str, tuple[str, str]] = {
    "S from the P-wave trees, the rest from the recipe's (both self-trained, 3 models)": (
        "+ P wave, MLII, self-trained, 3 models before", "recipe, self-trained, 3 models before",
    ),
}  # fmt: skip


def s_decision_from(s_probabilities: np.ndarray, rest: np.ndarray, s: int = 1) -> np.ndarray:
    """Join two models beat by beat: a beat that either calls S is decided by the first.

    The P wave tells an atrial beat, so the trees that read it decide S; the trees without it
    keep the beats neither calls S (notebook 90 scores the two sets and the join). A beat the
    first calls S stays S; a beat only ``rest`` calls S takes the first's class.

    Parameters
    ----------
    s_probabilities, rest : (n, n_classes) float arrays
        Class probabilities of the same beats from the two models (NaN rows stay NaN).
    s : int
        Index of class S.

    Returns
    -------
    (n, n_classes) float array
        Each row from ``s_probabilities`` where either argmax is ``s``, else from ``rest``.
    """
    either = (s_probabilities.argmax(axis=1) == s) | (rest.argmax(axis=1) == s)
    return np.where(either[:, None], s_probabilities, rest)


def fold_probabilities(
    features: np.ndarray,
    labels: np.ndarray,
    folds: list[tuple[np.ndarray, np.ndarray]],
    records: np.ndarray,
    *,
    self_training: bool = False,
    n_models: int = 1,
    progress: bool = False,
    **trees: object,
) -> np.ndarray:
    """Class probabilities of every held-out beat: one tree model per fold (or per held-out
    patient, self-trained on that patient's unlabelled beats).

    Parameters
    ----------
    features : (n, d) float array
    labels : (n,) int array
        AAMI class indices (only the folds' training rows are read).
    folds : list of (train, test) index arrays
        E.g. :func:`ecgutils.evaluate.patient_kfold_splits`, or one DS1 -> DS2 split.
    records : (n,) str array
        Each beat's record: self-training adapts to one record at a time.
    self_training : bool
        Self-train each held-out record (:func:`ecgutils.selftraining.self_train_record`) with its
        defaults.
    n_models : int
        Tree models averaged per fold (the self-training step fits one).
    progress : bool
        A tqdm bar over the folds.
    **trees
        Passed to :func:`ecgutils.trees.train_trees`.

    Returns
    -------
    (n, 5) float array
        NaN in the rows no fold holds out.
    """

    classes = scheme_classes("aami5")
    probs = np.full((len(labels), len(classes)), np.nan)
    for train, test in tqdm(folds, desc="Folds", unit="fold", leave=False, disable=not progress):
        model = train_trees(features[train], labels[train], classes, n_models=n_models,
                            progress=False, **trees)  # fmt: skip
        probs[test] = model.predict_proba(features[test])
        if self_training:
            for name in dict.fromkeys(records[test]):
                rows = test[records[test] == name]
                probs[rows], _ = self_train_record(
                    features[train], labels[train], features[rows], probs[rows], classes, **trees
                )
    return probs


def feature_set_table(
    profile: Profile | str | None = None,
    *,
    sets: dict[str, tuple[tuple[str, ...], bool, int]] | None = None,
    joined: dict[str, tuple[str, str]] | None = None,
    k: int = 11,
    seed: int = 2018,
    max_iter: int = 300,
    dataset: BeatDataset | None = None,
    progress: bool = True,
) -> pd.DataFrame:
    """Each feature set's EC57 figures on DS1 patient folds and on DS2 (%).

    For each set of :data:`FEATURE_SETS` (or ``sets``): the set's tree models (one, or a few
    averaged) per fold of ``k`` patient-grouped folds of DS1 (every DS1 patient scored by trees
    that never saw them; the choice between sets is made here), then the same trained on all of
    DS1 and scored on DS2. The trees' class weights are the recipe's
    (:data:`ecgutils.trees.TREES_BALANCE_POWER`). With fewer than ``k`` DS1 records in the
    profile, ``k`` becomes their number; with fewer than two, the DS1 columns are empty. Each
    set's probabilities are kept in the store (``data/models/trees/<profile>-features-<key>/``):
    a second call trains nothing. Then each row of :data:`JOINED_SETS` (or ``joined``) whose two
    sets were scored: the two sets' probabilities joined by :func:`s_decision_from` (nothing
    trained; its ``features`` are the first set's).

    Returns
    -------
    DataFrame
        One row per set; columns ``features`` (how many per beat), ``DS1 folds ...`` and
        ``DS2 ...`` (accuracy, S, V and F Se / +P, %).
    """

    prof = get_profile(profile)
    ds = dataset or build_dataset(prof, rule="fixed", scale="patient", progress=False)
    sets = FEATURE_SETS if sets is None else sets
    joined = JOINED_SETS if joined is None else joined
    classes = scheme_classes("aami5")
    labels = ds.labels("aami5")
    records = ds.beats["record"].astype(str).to_numpy()
    ds1_labels = ds1_only(ds.beats, labels)
    n_ds1 = len(set(records[ds1_labels >= 0]))
    k = min(k, n_ds1)
    folds = patient_kfold_splits(ds.beats, ds1_labels, k, seed) if n_ds1 >= 2 else []
    train, test = interpatient_rows(ds.beats, labels, seed)
    options = {"balance_power": TREES_BALANCE_POWER, "seed": seed, "max_iter": max_iter}
    groups: dict[str, np.ndarray] = {}  # computed when a set is not in the store yet

    def features(names: tuple[str, ...]) -> np.ndarray:
        if "recipe" not in groups:
            groups["recipe"] = tree_features(ds)
            groups["RR distribution"] = rr_distribution_features(ds.beats)
        if any(g not in groups for g in names):
            groups.update(signal_features(ds.beats, progress=progress))
        return np.column_stack([groups["recipe"], *(groups[g] for g in names)])

    rows, scored = {}, {}

    def table_row(ds1: np.ndarray, ds2: np.ndarray, d: int) -> dict:
        row = {"features": d}
        done = ~np.isnan(ds1[:, 0])
        if done.any():
            ec = ec57_metrics(ds1_labels[done], ds1[done].argmax(axis=1))
            row.update({f"DS1 folds {c}": v for c, v in ec57_row(ec).items()})
        ec = ec57_metrics(labels[test], ds2.argmax(axis=1))
        row.update({f"DS2 {c}": v for c, v in ec57_row(ec).items()})
        return row

    for name, (names, self_training, n_models) in tqdm(
        sets.items(), desc="Feature sets", unit="set", disable=not progress
    ):
        spec = store.Spec(
            kind="trees", label=f"{prof.name}-features", module=__name__,
            params={"groups": list(names), "self_training": self_training, "n_models": n_models,
                    "k": k, **options},
            data=cache_key(ds.params), libraries=("numpy", "scipy", "pandas", "scikit-learn"),
        )  # fmt: skip

        def build(folder, names=names, self_training=self_training, n_models=n_models):
            x = features(names)
            ds1 = fold_probabilities(x, ds1_labels, folds, records, self_training=self_training,
                                     n_models=n_models, progress=progress, **options)  # fmt: skip
            ds2 = fold_probabilities(x, labels, [(train, test)], records,
                                     self_training=self_training, n_models=n_models,
                                     **options)  # fmt: skip
            np.savez(folder / "probabilities.npz", ds1=ds1, ds2=ds2[test], d=x.shape[1])

        folder, _ = store.get_or_build(spec, build)
        saved = np.load(folder / "probabilities.npz")
        scored[name] = (saved["ds1"], saved["ds2"], int(saved["d"]))
        rows[name] = table_row(*scored[name])
    for name, (first, rest) in joined.items():
        if first in scored and rest in scored:
            (a1, a2, d), (b1, b2, _) = scored[first], scored[rest]
            s = classes.index("S")
            rows[name] = table_row(s_decision_from(a1, b1, s), s_decision_from(a2, b2, s), d)
    table = pd.DataFrame(rows).T
    keep = ["features"] + [
        f"{where} {c}"
        for where in ("DS1 folds", "DS2")
        for c in ("accuracy (%)", "S Se (%)", "S +P (%)", "V Se (%)", "V +P (%)", "F Se (%)")
    ]
    table = table.reindex(columns=keep)
    table.index.name = "feature set"
    return table


def joined_interpatient(
    profile: Profile | str | None = None,
    name: str | None = None,
    *,
    seed: int = 2018,
    max_iter: int = 300,
    progress: bool = True,
) -> dict:
    """A row of :data:`JOINED_SETS` trained from scratch on DS1 and scored on DS2 (what
    ``python -m ecgutils bench interpatient --model joined`` runs; nothing read from the store).

    Each of the row's two sets: its tree models on DS1, then self-trained on each DS2 record's
    unlabelled beats, as :func:`fold_probabilities` does; the two joined by
    :func:`s_decision_from`. ``name`` defaults to the first row.

    Returns
    -------
    dict
        ``ec57`` (:func:`ecgutils.evaluate.ec57_metrics` of the DS2 beats), ``name``,
        ``train`` and ``test`` (beats), ``features`` (per set), ``seconds``.
    """
    import time

    t0 = time.perf_counter()
    name = next(iter(JOINED_SETS)) if name is None else name
    if name not in JOINED_SETS:
        raise ValueError(f"Unknown joined set {name!r}; choose one of {list(JOINED_SETS)}.")
    prof = get_profile(profile)
    ds = build_dataset(prof, rule="fixed", scale="patient", progress=False)
    classes = scheme_classes("aami5")
    labels = ds.labels("aami5")
    records = ds.beats["record"].astype(str).to_numpy()
    train, test = interpatient_rows(ds.beats, labels, seed)
    options = {"balance_power": TREES_BALANCE_POWER, "seed": seed, "max_iter": max_iter}
    base, signal = tree_features(ds), None
    probs, widths = [], {}
    for set_name in JOINED_SETS[name]:
        groups, self_training, n_models = FEATURE_SETS[set_name]
        if groups and signal is None:
            signal = signal_features(ds.beats, progress=progress)
        x = np.column_stack([base, *(signal[g] for g in groups)]) if groups else base
        widths[set_name] = x.shape[1]
        p = fold_probabilities(x, labels, [(train, test)], records, self_training=self_training,
                               n_models=n_models, progress=progress, **options)  # fmt: skip
        probs.append(p[test])
    joined = s_decision_from(*probs, classes.index("S"))
    return {
        "ec57": ec57_metrics(labels[test], joined.argmax(axis=1)),
        "name": name, "train": len(train), "test": len(test), "features": widths,
        "seconds": time.perf_counter() - t0,
    }  # fmt: skip
