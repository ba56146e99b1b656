"""Gradient-boosted trees on what a beat image carries, made explicit (notebook 09).

On new patients the CNN's weak point is the comparison it has to learn by itself: is this beat
shaped like *this patient's* usual beat, and did it come early for *this patient's* rhythm? The
trees here are given that comparison directly, from the same inputs the inter-patient CNN sees:

- the trace read back from each beat image (:func:`ecgutils.render.trace_from_image`) minus the
  trace of its record's template image, one value per image column, in pixels;
- the RR intervals relative to the patient's own rhythm
  (:func:`ecgutils.dataset.relative_rr_features`) and the rhythm irregularity around the beat
  (:func:`ecgutils.dataset.rhythm_features`).

:func:`load_or_train_trees` trains a few scikit-learn ``HistGradientBoostingClassifier`` (one per
seed, probabilities averaged) on the training beats of a split and caches them under
``data/models/trees/<profile>-<key>/`` like the CNNs. Training takes seconds to a minute on 2
cores, so notebook 09 and ``bench interpatient`` train them from scratch when missing.

Source: chapter 09 (``notebooks/09_giving_back.ipynb``) writes :func:`trace_difference`,
:func:`tree_features`, :func:`sample_weights` and :class:`TreesClassifier` (cells marked
``#| export``; a test fails when chapter and package differ).
"""

from __future__ import annotations

import hashlib
import json
import pickle
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Self

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.ensemble import HistGradientBoostingClassifier
from tqdm.auto import tqdm

from . import store
from .backend import fast_weighted_binning
from .classes import scheme_classes
from .config import Profile, get_profile
from .dataset import (
    BeatDataset,
    build_dataset,
    cache_key,
    reference_beats,
    relative_rr_features,
    rhythm_features,
)
from .evaluate import (
    classification_metrics,
    ds1_only,
    ec57_metrics,
    interpatient_rows,
    learnt_rows,
    patient_kfold_splits,
)
from .render import patient_normalize, render_traces, trace_from_image

#: Class-weight exponent of the trees: the inter-patient CNN's (``INTERPATIENT["balance_power"]``),
#: fixed before DS2 was scored. Patient-grouped cross-validation on DS1 alone
#: (:func:`choose_balance_power`) cannot tell the exponents 0 to 1 apart: their scores lie within
#: a few hundredths of each other, inside the spread of the folds.
TREES_BALANCE_POWER = 0.5


def trace_difference(images: np.ndarray, templates: np.ndarray, chunk: int = 8192) -> np.ndarray:
    """Each beat's read-back trace minus its template's, column by column.

    Parameters
    ----------
    images : (n, size, size) uint8 array
        Beat images (255 = background), drawn in the patient's units (``scale="patient"``).
    templates : (n, size, size) uint8 array
        The template image of each beat's record, drawn the same way.
    chunk : int
        Beats converted at a time (bounds memory).

    Returns
    -------
    (n, size) float32 array
        Height difference in pixels (positive: the beat is above its template there); NaN in
        columns where either image has no ink.
    """
    if images.shape != templates.shape:
        raise ValueError(f"images {images.shape} and templates {templates.shape} must match.")
    out = np.empty(images.shape[:2], dtype=np.float32)
    for i in range(0, len(images), chunk):
        sl = slice(i, i + chunk)
        out[sl] = trace_from_image(images[sl]) - trace_from_image(templates[sl])
    return out


def tree_features(ds: BeatDataset) -> np.ndarray:
    """(n, 7 + 4 + size) float32: relative RR, rhythm, trace difference of every beat.

    ``ds`` must be drawn with ``scale="patient"`` (it carries one template image per record).
    """
    if ds.templates is None:
        raise ValueError(
            "Tree features compare each beat with its record's template: build the data set "
            "with scale='patient' (build_dataset(profile, rule='fixed', scale='patient'))."
        )
    diff = trace_difference(ds.images, ds.templates[ds.template_index()])
    return np.column_stack([relative_rr_features(ds.beats), rhythm_features(ds.beats), diff])


def recording_features(
    signal: np.ndarray,
    fs: float,
    beats: pd.DataFrame,
    *,
    size: int,
    line_width: float,
    mv_range: tuple[float, float],
    rows: np.ndarray | None = None,
    baseline_removed: bool = False,
) -> np.ndarray:
    """:func:`tree_features` of one recording's beats, from the signal itself: what deployment
    computes for a file (:func:`ecgutils.deploy.predict.predict_ecg` with the trees), drawn
    exactly as :func:`ecgutils.dataset.build_dataset` draws a ``scale="patient"`` data set (a
    test compares the two on MIT-BIH records).

    Parameters
    ----------
    signal : (n_samples,) float array, mV, at ``fs`` Hz
    beats : DataFrame
        The recording's beat table (:func:`ecgutils.segment.segment_beats`, rule ``fixed``, with
        a ``record`` column): windows and RR columns.
    size, line_width, mv_range
        The data set's ``size``, ``line_width`` and ``mv_range`` (the model card keeps them).
    rows : (m,) int array, optional
        The beats to describe (default all): the reference (template beat, unit, RR reference,
        rhythm) still comes from every beat of ``beats``, which deployment sets to a beat's
        neighbourhood (:data:`ecgutils.deploy.predict.REFERENCE_S`).
    baseline_removed : bool
        ``signal`` is already free of its baseline (:func:`ecgutils.render.patient_normalize`).

    Returns
    -------
    (n, 7 + 4 + size) float32 array, or (m, ...) with ``rows``
    """

    starts, ends = beats["start"].to_numpy(), beats["end"].to_numpy()
    reference = reference_beats(beats)
    x, template, _ = patient_normalize(
        signal, starts, ends, fs, reference=reference, baseline_removed=baseline_removed
    )
    options = {
        "size": size,
        "line_width": line_width,
        "mv_range": tuple(mv_range),
        "scale": "fixed",
    }
    rows = np.arange(len(beats)) if rows is None else np.asarray(rows, dtype=np.int64)
    # the traces the images would give (render_traces: the same numbers, without the images)
    tpl = render_traces(template, [0], [len(template)], **options)  # one template: once
    diff = render_traces(x, starts[rows], ends[rows], **options) - tpl
    rr = np.column_stack([relative_rr_features(beats), rhythm_features(beats, fs)])[rows]
    return np.column_stack([rr, diff]).astype(np.float32)


def sample_weights(
    labels: np.ndarray, n_classes: int, power: float, stands_for: np.ndarray | None = None
) -> np.ndarray:
    """(n,) float: per-beat weight ``(largest class count / own class count) ** power``.

    ``stands_for`` (n,): how many beats each one stands for when the beats are a sample of a
    larger set (:func:`training_sample`); the class counts add these up and each beat's weight
    is multiplied by its own, so the sample weighs what the whole set would. Default: 1 each."""
    counts = np.bincount(labels, weights=stands_for, minlength=n_classes).astype(float)
    w = (counts.max() / np.maximum(counts, 1.0)) ** power
    return w[labels] if stands_for is None else w[labels] * stands_for


class TreesClassifier(ClassifierMixin, BaseEstimator):
    """The course's trees as a scikit-learn estimator: ``n_models`` gradient-boosted tree models
    (``HistGradientBoostingClassifier``, seeds ``seed, seed + 1, ...``) whose class probabilities
    are averaged, each beat weighted by its class (:func:`sample_weights`).

    Each model stops early on its own random 10% of the training beats (:func:`can_stop_early`).

    Parameters
    ----------
    n_classes : int
        Classes are ``0 .. n_classes - 1``; a class absent from training gets probability 0.
    balance_power : float
        Class weights ``(max count / count) ** balance_power`` (0: none, 1: fully balanced).
    n_models, max_iter, seed : int
        Models averaged, boosting rounds at most per model, seed of the first.
    progress : bool
        A tqdm bar over the models (a minute or more on the standard profile's DS1).
    """

    def __init__(
        self, n_classes: int = 5, *, balance_power: float = TREES_BALANCE_POWER,
        n_models: int = 3, max_iter: int = 300, seed: int = 2018, progress: bool = False,
    ):  # fmt: skip
        self.n_classes = n_classes
        self.balance_power = balance_power
        self.n_models = n_models
        self.max_iter = max_iter
        self.seed = seed
        self.progress = progress

    def fit(
        self, X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None,
        stands_for: np.ndarray | None = None,
    ) -> Self:  # fmt: skip
        """Fit on ``X`` (n, d) float (NaN allowed) and ``y`` (n,) class indices.

        ``sample_weight`` multiplies each beat's class weight (e.g. a patient's own beats
        weighing more); ``stands_for``: how many beats each one stands for when they are a
        sample of a larger set (:func:`sample_weights`)."""
        y = np.asarray(y)
        weights = sample_weights(y, self.n_classes, self.balance_power, stands_for)
        if sample_weight is not None:
            weights = weights * sample_weight
        self.estimators_ = []
        bar = tqdm(range(self.n_models), desc="Gradient-boosted trees", unit="model",
                   disable=not self.progress)  # fmt: skip
        for k in bar:
            m = HistGradientBoostingClassifier(
                max_iter=self.max_iter, early_stopping=can_stop_early(y),
                random_state=self.seed + k,
            )  # fmt: skip
            with fast_weighted_binning():
                self.estimators_.append(m.fit(X, y, sample_weight=weights))
        self.classes_ = np.arange(self.n_classes)
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """(n, n_classes) probabilities, averaged over the models."""
        out = np.zeros((len(X), self.n_classes))
        for m in self.estimators_:
            out[:, m.classes_] += m.predict_proba(X)
        return out / len(self.estimators_)


def save_trees(trees: TreesClassifier, path: str | Path) -> None:
    """Write fitted trees as scikit-learn's own objects (the fitted models and the settings), so
    that the file does not depend on where :class:`TreesClassifier` lives."""
    with open(path, "wb") as f:
        pickle.dump({"params": trees.get_params(), "estimators": list(trees.estimators_)}, f)


def load_trees(path: str | Path) -> TreesClassifier:
    """The :class:`TreesClassifier` that :func:`save_trees` wrote (a pickle: trusted files only)."""
    with open(path, "rb") as f:
        saved = pickle.load(f)
    trees = TreesClassifier(**saved["params"])
    trees.estimators_ = list(saved["estimators"])
    trees.classes_ = np.arange(trees.n_classes)
    return trees


def can_stop_early(labels: np.ndarray) -> bool:
    """Whether gradient-boosted trees may hold out 10% of these beats to stop early: scikit-learn
    splits them stratified, which needs 2 or more beats of every class present.

    scikit-learn's own default ("auto") stops early only above 10,000 beats; the course asks for
    it at any size, so a small profile does not boost all ``max_iter`` rounds (the standard
    profile's training sets are larger: their figures are what "auto" gave).
    """
    counts = np.bincount(np.asarray(labels, dtype=np.int64))
    return bool(counts[counts > 0].min() >= 2) if counts.any() else False


def train_trees(
    features: np.ndarray,
    labels: np.ndarray,
    classes: list[str],
    *,
    balance_power: float = TREES_BALANCE_POWER,
    n_models: int = 3,
    max_iter: int = 300,
    seed: int = 2018,
    progress: bool = True,
    weight: np.ndarray | None = None,
    stands_for: np.ndarray | None = None,
) -> TreesClassifier:
    """:class:`TreesClassifier` over ``classes`` fitted on ``features`` (n, d) and ``labels``
    (n,) class indices: ``weight`` multiplies each beat's class weight, ``stands_for`` as in
    :meth:`TreesClassifier.fit`."""
    trees = TreesClassifier(
        len(classes), balance_power=balance_power, n_models=n_models, max_iter=max_iter,
        seed=seed, progress=progress,
    )  # fmt: skip
    return trees.fit(features, labels, sample_weight=weight, stands_for=stands_for)


@dataclass
class TrainedTrees:
    """Trees trained on a split's training beats, with their test probabilities and metrics."""

    trees: TreesClassifier
    metadata: dict
    dataset: BeatDataset
    split: dict  # train / test beat indices
    probabilities: np.ndarray  # (n_test, n_classes), rows in the order of split["test"]

    @property
    def metrics(self) -> dict:
        return self.metadata["metrics"]


def _spec(label: str, params: dict, ds: BeatDataset) -> store.Spec:
    """The store entry of trees trained on ``ds`` (``data/models/trees/<label>-<key>/``)."""
    return store.Spec(
        kind="trees",
        label=label,
        params=params,
        module=__name__,
        data=cache_key(ds.params),
        libraries=("numpy", "scipy", "pandas", "scikit-learn"),
    )


def rows_digest(rows: np.ndarray) -> str:
    """A short digest of beat indices (part of a fit's key: which beats it learnt from)."""
    return hashlib.sha1(np.asarray(rows, dtype=np.int64).tobytes()).hexdigest()[:12]


def fit_cached(
    estimator: BaseEstimator,
    ds: BeatDataset,
    rows: np.ndarray,
    *,
    label: str,
    predict: np.ndarray | None = None,
    retrain: bool = False,
) -> tuple[BaseEstimator, dict, np.ndarray | None]:
    """Fit a copy of ``estimator`` once on the trees' features (:func:`tree_features`) and
    ``aami5`` labels of the beats ``rows`` of ``ds``, and keep it in the store.

    The one cached fit of the course's trees: the DS1 -> DS2 trees, the deployed trees and each
    DS1 patient fold are this call with other rows. The key covers the estimator's parameters
    (``get_params()``, progress bars aside), the data set and the rows
    (``data/models/trees/<label>-<key>/``; ``retrain=True`` fits again).

    Parameters
    ----------
    estimator : scikit-learn style classifier (:class:`TreesClassifier`)
    rows : (n,) int
        Training beats (indices into ``ds.beats``); Q and unlabelled beats are the caller's
        to leave out (:func:`ecgutils.evaluate.learnt_rows`).
    predict : (m,) int, optional
        Beats whose class probabilities are computed with the fit and kept beside it.

    Returns
    -------
    (fitted estimator, metadata, probabilities (m, n_classes) or None)
    """
    params = {k: v for k, v in estimator.get_params().items() if k != "progress"}
    key_params = {**params, "rows": rows_digest(rows), "n_rows": len(rows)}
    if predict is not None:
        key_params["predict"] = rows_digest(predict)
    spec = _spec(label, key_params, ds)

    def build(folder: Path) -> None:
        feats = tree_features(ds)
        labels = ds.labels("aami5")
        t0 = time.perf_counter()
        fitted = clone(estimator).fit(feats[rows], labels[rows])
        seconds = time.perf_counter() - t0
        classes = scheme_classes("aami5")
        metadata = {
            "key": spec.key,
            "label": label,
            "params": params,
            "features": f"7 relative RR + 4 rhythm + {ds.images.shape[1]} trace differences",
            "beats": {c: int((labels[rows] == k).sum()) for k, c in enumerate(classes)},
            "train_seconds": round(seconds, 1),
            "trained": pd.Timestamp.now(tz="UTC").isoformat(timespec="seconds"),
            "iterations": [int(m.n_iter_) for m in getattr(fitted, "estimators_", [])],
        }
        save_trees(fitted, folder / "trees.pkl")
        if predict is not None:
            np.save(folder / "probabilities.npy", fitted.predict_proba(feats[predict]))
        (folder / "metadata.json").write_text(json.dumps(metadata, indent=1))

    folder, _ = store.get_or_build(spec, build, force=retrain)
    probs = np.load(folder / "probabilities.npy") if predict is not None else None
    return (
        load_trees(folder / "trees.pkl"),
        json.loads((folder / "metadata.json").read_text()),
        probs,
    )


def load_or_train_trees(
    profile: Profile | str | None = None,
    *,
    balance_power: float = TREES_BALANCE_POWER,
    n_models: int = 3,
    size: int | None = None,
    seed: int = 2018,
    max_iter: int = 300,
    retrain: bool = False,
) -> TrainedTrees:
    """Trees on DS1 (inter-patient split, Q beats left out of training), scored on DS2.

    The data set is the inter-patient CNN's (fixed window, patient units, templates; image size
    the profile's). ``max_iter``: boosting rounds at most per tree model (:func:`train_trees`).
    The fit and its DS2 probabilities are kept in the store (:func:`fit_cached`;
    ``retrain=True`` fits again); the metrics are computed from them.
    """
    prof = get_profile(profile)
    ds = build_dataset(prof, rule="fixed", scale="patient", size=size, progress=False)
    labels = ds.labels("aami5")
    train, test = interpatient_rows(ds.beats, labels, seed)  # trees stop early on their own
    estimator = TreesClassifier(
        len(scheme_classes("aami5")), balance_power=balance_power, n_models=n_models,
        max_iter=max_iter, seed=seed,
    )  # fmt: skip
    trees, fit, probs = fit_cached(
        estimator, ds, train, label=prof.name, predict=test, retrain=retrain
    )
    metrics = classification_metrics(labels[test], probs.argmax(axis=1), "aami5")
    metrics["ec57"] = ec57_metrics(labels[test], probs.argmax(axis=1))
    metadata = {
        **fit,
        "name": f"trees-{prof.name}",
        "profile": prof.name,
        "scheme": "aami5",
        "classes": scheme_classes("aami5"),
        "settings": {"balance_power": balance_power, "n_models": n_models, "seed": seed,
                     "max_iter": max_iter},
        "split": {"train": len(train), "test": len(test)},
        "split_kind": "inter-patient DS1 -> DS2",
        "metrics": metrics,
    }  # fmt: skip
    return TrainedTrees(trees, metadata, ds, {"train": train, "test": test}, probs)


def load_or_train_deployed_trees(
    profile: Profile | str | None = None,
    *,
    balance_power: float = TREES_BALANCE_POWER,
    n_models: int = 3,
    seed: int = 2018,
    retrain: bool = False,
) -> tuple[TreesClassifier, dict]:
    """The trees recipe of :func:`load_or_train_trees` trained on every record of the profile
    (all 48 in ``standard``; Q beats left out): the model deployment ships. Nothing is held out,
    so it has no test score of its own: the DS1 -> DS2 score of the same recipe
    (:func:`load_or_train_trees`) is what to expect on new patients.

    Kept in the store (:func:`fit_cached`). Returns the trees and their metadata (settings,
    data set parameters, beats, seconds).
    """
    prof = get_profile(profile)
    ds = build_dataset(prof, rule="fixed", scale="patient", progress=False)
    estimator = TreesClassifier(
        len(scheme_classes("aami5")), balance_power=balance_power, n_models=n_models, seed=seed
    )
    rows = learnt_rows(ds.labels("aami5"))
    trees, fit, _ = fit_cached(estimator, ds, rows, label=f"{prof.name}-all", retrain=retrain)
    params = {k: v for k, v in ds.params.items() if k != "records"}
    metadata = {
        **fit,
        "profile": prof.name,
        "scheme": "aami5",
        "classes": scheme_classes("aami5"),
        "settings": {"balance_power": balance_power, "n_models": n_models, "seed": seed},
        "dataset": {**params, "records": len(ds.params["records"])},
    }
    return trees, metadata


def ds1_fold_probabilities(
    profile=None,
    *,
    balance_power: float | None = None,
    k: int = 5,
    seed: int = 2018,
    max_iter: int = 300,
) -> dict[str, np.ndarray]:
    """Out-of-fold class probabilities of the inter-patient trees on DS1 alone: each DS1
    record's beats are scored by trees trained on the other folds' records (patient-grouped
    k-fold, :func:`ecgutils.evaluate.patient_kfold_splits`). DS2 is never read, so a decision
    made on these (a class weight, a threshold) cannot flatter the DS1 -> DS2 figures.

    Each fold is one :func:`fit_cached` (one tree model per fold), kept in the store.

    Returns
    -------
    dict
        ``labels`` (n,) int (``aami5`` indices, Q left out), ``probabilities`` (n, 5) float,
        ``records`` (n,) str, over the scored DS1 beats.
    """
    prof = get_profile(profile)
    power = TREES_BALANCE_POWER if balance_power is None else float(balance_power)
    ds = build_dataset(prof, rule="fixed", scale="patient", progress=False)
    classes = scheme_classes("aami5")
    labels = ds1_only(ds.beats, ds.labels("aami5"))
    records = np.asarray(ds.beats["record"], dtype=str)
    folds = patient_kfold_splits(ds.beats, labels, k, seed)
    estimator = TreesClassifier(
        len(classes), balance_power=power, n_models=1, max_iter=max_iter, seed=seed,
        progress=False,
    )  # fmt: skip
    probs = np.full((len(labels), len(classes)), np.nan)
    for train, test in tqdm(folds, desc="DS1 patient folds", unit="fold"):
        _, _, probs[test] = fit_cached(
            estimator, ds, train, label=f"{prof.name}-ds1-fold", predict=test
        )
    done = ~np.isnan(probs[:, 0])
    return {"labels": labels[done], "probabilities": probs[done], "records": records[done]}
