"""Self-training: a new patient's confidently classified beats teach the trees (chapter 09).

:func:`self_train_record` is the step (any scikit-learn classifier; by default the course's
:class:`~ecgutils.trees.TreesClassifier`); :func:`training_sample` is the sample of training beats
a shipped model carries to do it on a new file; :func:`self_trained_trees` scores it on DS2.

Source: chapter 09 (``notebooks/09_giving_back.ipynb``) writes :func:`self_train_record` (cells
marked ``#| export``; a test fails when chapter and package differ).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.base import clone
from tqdm.auto import tqdm

from . import store
from .classes import scheme_classes
from .config import Profile, get_profile
from .evaluate import (
    ec57_metrics,
)
from .trees import TreesClassifier, _spec, load_or_train_trees, tree_features


@dataclass
class AdaptiveResult:
    """Per-patient trees' scores: the patient-adaptive protocol (:func:`patient_adaptive_trees`) or
    self-training (:func:`self_trained_trees`)."""

    labels: np.ndarray  # (n,) aami5 class of every scored beat
    probabilities: np.ndarray  # (n, 5)
    records: np.ndarray  # (n,) record of every scored beat
    metadata: dict

    @property
    def metrics(self) -> dict:
        return self.metadata["metrics"]

    def save(self, folder: Path) -> None:
        """Write ``scores.npz`` and ``metadata.json`` into a store folder."""
        np.savez(
            folder / "scores.npz", labels=self.labels, probabilities=self.probabilities,
            records=np.asarray(self.records).astype("U"),
        )  # fmt: skip
        (folder / "metadata.json").write_text(json.dumps(self.metadata, indent=1))

    @classmethod
    def load(cls, folder: Path) -> AdaptiveResult:
        """Read what :meth:`save` wrote."""
        saved = np.load(folder / "scores.npz")
        return cls(
            saved["labels"], saved["probabilities"], saved["records"].astype(str),
            json.loads((folder / "metadata.json").read_text()),
        )  # fmt: skip


def self_train_record(
    train_features: np.ndarray,
    train_labels: np.ndarray,
    features: np.ndarray,
    probabilities: np.ndarray,
    classes: list[str],
    *,
    confidence: float = 0.9,
    local_weight: float = 10.0,
    stands_for: np.ndarray | None = None,
    estimator: object | None = None,
    **trees: object,
) -> tuple[np.ndarray, np.ndarray]:
    """Self-training on one new patient: their confidently classified beats teach the trees.

    The beats whose likeliest class has probability ``confidence`` or more keep that class as a
    label (the trees' opinion, never the truth) and join the training beats, each weighing
    ``local_weight`` times a training beat of its class; one tree model trained on both
    classifies every beat of the patient again.

    Parameters
    ----------
    train_features : (n_train, d) float array
        Features of the labelled training beats (DS1), e.g. :func:`tree_features`.
    train_labels : (n_train,) int array
        Their classes, indices into ``classes``.
    features : (n, d) float array
        Features of the new patient's beats.
    probabilities : (n, n_classes) float array
        What the inter-patient trees say of those beats.
    classes : list of str
        Class names.
    confidence : float
        Probability from which a beat becomes one of the patient's own training beats.
    local_weight : float
        Weight of each of those beats against a training beat of its class.
    stands_for : (n_train,) float array, optional
        How many beats each training beat stands for when they are a sample of a larger set
        (:func:`training_sample`, what a shipped model carries); default 1 each.
    estimator : scikit-learn classifier, optional
        Any classifier whose ``fit`` takes ``sample_weight`` (and ``stands_for`` when given),
        cloned unfitted; default one :class:`TreesClassifier` with ``**trees``.
    **trees
        Passed to :class:`TreesClassifier` (``balance_power``, ``max_iter``, ``seed``).

    Returns
    -------
    probabilities : (n, n_classes) float array
        The self-trained model's class probabilities for the patient's beats.
    own : (n,) int array
        The label each beat was taken with, -1 for beats not taken.
    """
    sure = probabilities.max(axis=1) >= confidence
    own = np.where(sure, probabilities.argmax(axis=1), -1)  # the trees' labels, not the truth
    model = (
        TreesClassifier(len(classes), n_models=1, **trees)
        if estimator is None
        else clone(estimator)
    )
    fit = {"sample_weight": np.r_[np.ones(len(train_labels)), np.full(sure.sum(), local_weight)]}
    if stands_for is not None:  # a sample of the training beats: each counts for several
        fit["stands_for"] = np.r_[stands_for, np.ones(sure.sum())]
    model.fit(np.r_[train_features, features[sure]], np.r_[train_labels, own[sure]], **fit)
    return model.predict_proba(features), own


#: At most this many training beats of each class travel with a shipped model for self-training
#: (:func:`training_sample`): a size choice (about 2.5 MB), not a tuned one.
SAMPLE_CAP = 10_000


def training_sample(
    features: np.ndarray, labels: np.ndarray, n_classes: int, *, cap: int = SAMPLE_CAP,
    seed: int = 2018,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """The training beats a shipped model carries so that it can self-train on a new file.

    Every beat of a class with at most ``cap`` beats, ``cap`` beats drawn at random (seeded) from
    a larger class; features stored as float16 (half the bytes; the trees bin them into 255
    values anyway).

    Parameters
    ----------
    features : (n, d) float array
        E.g. :func:`tree_features` of the training beats.
    labels : (n,) int array
        Their classes, indices below ``n_classes``.
    cap : int
        At most this many beats of each class.

    Returns
    -------
    features : (m, d) float16 array
        The sample, in the order of the input.
    labels : (m,) int8 array
    stands_for : (m,) float32 array
        How many beats of the whole set each one stands for (its class's count / sample count):
        ``stands_for`` of :func:`self_train_record`.
    """
    if cap < 1:
        raise ValueError(f"cap must be at least 1 beat per class, got {cap}.")
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    keep = np.zeros(len(labels), bool)
    stands = np.ones(len(labels), np.float32)
    for k in range(n_classes):
        rows = np.flatnonzero(labels == k)
        if len(rows) > cap:
            rows = rng.choice(rows, cap, replace=False)
            stands[rows] = np.float32((labels == k).sum() / cap)
        keep[rows] = True
    return features[keep].astype(np.float16), labels[keep].astype(np.int8), stands[keep]


def self_trained_trees(
    profile: Profile | str | None = None,
    *,
    confidence: float = 0.9,
    local_weight: float = 10.0,
    sample_cap: int | None = None,
    trees: dict | None = None,
    retrain: bool = False,
    progress: bool = True,
) -> AdaptiveResult:
    """Unsupervised adaptation to each new patient: self-training on their *unlabelled* beats.

    The inter-patient trees (:func:`load_or_train_trees`, DS1 only) label each DS2 record's beats;
    the beats they label with probability ``confidence`` or more become training beats of that
    patient (each weighing ``local_weight`` times a DS1 beat of its class); trees trained on DS1
    and them classify the whole record again. No reference label of a DS2 patient is read, so the
    figures are inter-patient ones. Chosen on DS1 alone: on 11 patient-grouped folds of DS1 (each
    held-out patient self-trained the same way) it raised every S and V figure slightly.

    ``sample_cap``: self-train with :func:`training_sample` of the DS1 beats (at most this many
    of each class, float16, each standing for its share of the whole), as a shipped model does
    (:func:`ecgutils.deploy.predict.predict_ecg` with ``self_train=True``); default: every DS1 beat.
    ``trees``: keyword arguments of :func:`load_or_train_trees` (the base trees; their class
    weights, seed and boosting rounds serve the per-record models too). One tree model per DS2
    record (22 in the standard profile: 2.1 minutes on 2 cores at 2.09 ms/image), kept in the store
    (``data/models/trees/<profile>-selftrained-<key>/``).

    Returns
    -------
    AdaptiveResult
        Every DS2 beat of the inter-patient split (its ``test`` order), the EC57 metrics, and the
        beats each record took as its own training beats, per class.
    """

    prof = get_profile(profile)
    base = load_or_train_trees(prof, **(trees or {}))
    ds = base.dataset
    balance_power, seed = (base.metadata["settings"][k] for k in ("balance_power", "seed"))
    max_iter = base.metadata["settings"].get("max_iter", 300)
    settings = {
        "confidence": confidence, "local_weight": local_weight, "base": base.metadata["key"],
        "protocol": "self-training on the unlabelled beats of each DS2 record",
    }  # fmt: skip
    if sample_cap is not None:
        settings["sample cap"] = sample_cap
    spec = _spec(f"{prof.name}-selftrained", settings, ds)

    def build(folder: Path) -> None:
        classes = scheme_classes("aami5")
        labels = ds.labels("aami5")
        records = ds.beats["record"].astype(str).to_numpy()
        train, test = base.split["train"], base.split["test"]  # DS1 without Q; DS2
        feats = tree_features(ds)
        x_train, y_train, stands_for = feats[train], labels[train], None
        if sample_cap is not None:
            x_train, y_train, stands_for = training_sample(
                x_train, y_train, len(classes), cap=sample_cap, seed=seed
            )
            x_train = x_train.astype(np.float32)
        probs = np.zeros((len(test), len(classes)))
        taken = {}
        t0 = time.perf_counter()
        names = list(dict.fromkeys(records[test]))
        for name in tqdm(names, desc="DS2 records", unit="record", disable=not progress):
            rows = np.flatnonzero(records[test] == name)
            probs[rows], own = self_train_record(
                x_train, y_train, feats[test[rows]], base.probabilities[rows], classes,
                confidence=confidence, local_weight=local_weight, stands_for=stands_for,
                balance_power=balance_power, max_iter=max_iter, seed=seed,
            )  # fmt: skip
            taken[name] = {c: int((own == k).sum()) for k, c in enumerate(classes)}
        metadata = {
            "key": spec.key, "profile": prof.name, "settings": settings,
            "protocol": settings["protocol"], "own training beats": taken,
            "scored beats": int(len(test)),
            "train_seconds": round(time.perf_counter() - t0, 1),
            "metrics": {"ec57": ec57_metrics(labels[test], probs.argmax(axis=1))},
        }  # fmt: skip
        AdaptiveResult(labels[test], probs, records[test], metadata).save(folder)

    folder, _ = store.get_or_build(spec, build, force=retrain)
    return AdaptiveResult.load(folder)
