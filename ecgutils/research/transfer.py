"""The CNN on new patients, adapted to each new record without a label of theirs (issue 32).

A network trained on DS1 meets a new patient whose beats differ from every training patient's
(amplitude, width, baseline, the shape of their normal beat). Two ways it can adapt to the new
record's own *unlabelled* beats, as chapter 09's trees self-train:

``"batchnorm"``
    AdaBN (Li et al. 2016): every batch-normalisation layer's statistics are recomputed on the
    record's beats (:func:`ecgutils.train.recalibrate_batchnorm`), so the features are
    standardised by this patient's spread rather than the training patients'. One forward pass.
``"selftrain"``
    The beats the network classifies with probability ``confidence`` or more keep that class as a
    label (the network's opinion, never the truth); the network is fine-tuned for one epoch on
    them and a class-balanced sample of its training beats, then classifies the record again.

``"none"`` is the network as trained. :func:`ds1_fold_scores` judges the three on DS1 alone
(patient-grouped folds: each fold's network never saw the held-out patients, early-stopped on
other held-out DS1 patients); :func:`adapted_interpatient` scores one on DS2 (the recipe trained
on DS1, each DS2 record adapted on its own beats; no DS2 label is read before the scoring).
Both keep their results in the store (``data/models/cv/``).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from .. import store
from ..backend import import_keras
from ..classes import scheme_classes
from ..config import Profile, get_profile
from ..dataset import build_dataset, cache_key
from ..evaluate import (
    ds1_only,
    ec57_metrics,
    ec57_row,
    learnt_rows,
    patient_kfold_splits,
)
from ..train import (
    TrainConfig,
    config_from_profile,
    config_key,
    load_or_train,
    model_inputs,
    recalibrate_batchnorm,
    train_model,
)
from .studies import INTERPATIENT

ADAPTATIONS = ("none", "batchnorm", "selftrain")
#: Self-training's settings, fixed before any fold was scored (the trees' confidence, chapter 09).
SELF_TRAINING = {"confidence": 0.9, "per_class": 500, "epochs": 1, "learning_rate": 2e-4}


def network_probabilities(model, inputs: dict, *, batch: int = 512) -> np.ndarray:
    """(n, n_classes) class probabilities of a Keras model for inputs keyed by its input names,
    ``batch`` beats at a time."""
    names = [t.name.split(":")[0] for t in model.inputs]
    parts = [np.zeros((0, model.outputs[0].shape[-1]), np.float32)]
    for start in range(0, len(inputs[names[0]]), batch):
        x = [inputs[k][start : start + batch] for k in names]
        parts.append(np.asarray(model(x if len(x) > 1 else x[0], training=False)))
    return np.concatenate(parts)


def balanced_sample(labels: np.ndarray, rows: np.ndarray, per_class: int, seed: int) -> np.ndarray:
    """At most ``per_class`` beats of each class among ``rows`` (seeded), sorted."""
    rng = np.random.default_rng(seed)
    picked = []
    for k in np.unique(labels[rows]):
        of_k = rows[labels[rows] == k]
        if len(of_k) > per_class:
            of_k = rng.choice(of_k, per_class, replace=False)
        picked.append(of_k)
    return np.sort(np.concatenate(picked)) if picked else np.zeros(0, np.int64)


def adapt_and_predict(
    model,
    inputs: dict,
    adaptation: str,
    *,
    train_inputs: dict | None = None,
    train_labels: np.ndarray | None = None,
    settings: dict | None = None,
    seed: int = 2018,
) -> tuple[np.ndarray, int]:
    """Class probabilities of one new record's beats after adapting ``model`` to them.

    Parameters
    ----------
    model : keras.Model
        A trained network; its weights are restored afterwards, so one model serves every record.
    inputs : dict
        The record's network inputs (:func:`ecgutils.train.model_inputs`), every beat.
    adaptation : str
        One of :data:`ADAPTATIONS`.
    train_inputs, train_labels
        ``"selftrain"`` only: a class-balanced sample of the training beats and their classes.
    settings : dict, optional
        ``"selftrain"``: :data:`SELF_TRAINING` keys (``confidence``, ``epochs``,
        ``learning_rate``).

    Returns
    -------
    probabilities : (n, n_classes) float array
    taken : int
        Beats of the record taken as its own training beats (0 unless ``"selftrain"``).
    """
    if adaptation not in ADAPTATIONS:
        raise ValueError(f"adaptation must be one of {ADAPTATIONS}, got {adaptation!r}.")
    if adaptation == "none":
        return network_probabilities(model, inputs), 0
    saved = model.get_weights()
    try:
        if adaptation == "batchnorm":
            recalibrate_batchnorm(model, inputs)
            return network_probabilities(model, inputs), 0
        if train_inputs is None or train_labels is None:
            raise ValueError("adaptation='selftrain' needs train_inputs and train_labels.")
        s = {**SELF_TRAINING, **(settings or {})}
        probs = network_probabilities(model, inputs)
        sure = probs.max(axis=1) >= s["confidence"]
        own = probs.argmax(axis=1)[sure]  # the network's labels, never the truth
        keras = import_keras()
        keras.utils.set_random_seed(seed)
        names = [t.name.split(":")[0] for t in model.inputs]
        x = {k: np.concatenate([train_inputs[k], inputs[k][sure]]) for k in names}
        y = np.concatenate([train_labels, own]).astype(np.int64)
        model.compile(
            optimizer=keras.optimizers.Adam(s["learning_rate"]),
            loss="sparse_categorical_crossentropy",
        )
        model.fit(
            [x[k] for k in names] if len(names) > 1 else x[names[0]], y,
            batch_size=128, epochs=s["epochs"], shuffle=True, verbose=0,
        )  # fmt: skip
        return network_probabilities(model, inputs), int(sure.sum())
    finally:
        model.set_weights(saved)


def _records_probabilities(model, ds, cfg, rows, adaptations, train_rows, settings, desc):
    """Each adaptation's probabilities over ``rows``, record by record."""
    labels = ds.labels(cfg.scheme)
    records = ds.beats["record"].astype(str).to_numpy()
    sample = balanced_sample(labels, train_rows, settings["per_class"], cfg.seed)
    train_inputs = model_inputs(ds, sample, cfg)
    n_classes = len(scheme_classes(cfg.scheme))
    probs = {a: np.zeros((len(rows), n_classes), np.float32) for a in adaptations}
    taken = {}
    for name in tqdm(list(dict.fromkeys(records[rows])), desc=desc, unit="record"):
        part = np.flatnonzero(records[rows] == name)
        inputs = model_inputs(ds, rows[part], cfg)
        for a in adaptations:
            probs[a][part], n = adapt_and_predict(
                model, inputs, a, train_inputs=train_inputs, train_labels=labels[sample],
                settings=settings, seed=cfg.seed,
            )  # fmt: skip
            if a == "selftrain":
                taken[name] = n
    return probs, taken


def _fold_config(prof: Profile, overrides: dict) -> TrainConfig:
    return config_from_profile(prof, **{**INTERPATIENT, "ensemble": 1, **overrides})


def ds1_fold_scores(
    profile: Profile | str | None = "standard",
    *,
    k: int = 4,
    adaptations: tuple[str, ...] = ADAPTATIONS,
    settings: dict | None = None,
    verbose: int = 0,
    **overrides,
) -> dict:
    """Out-of-fold scores of the CNN recipe on DS1 alone, each adaptation side by side.

    DS1's records are split into ``k`` patient-grouped folds
    (:func:`ecgutils.evaluate.patient_kfold_splits`); for each fold one network of the recipe
    (:data:`ecgutils.research.studies.INTERPATIENT` with ``overrides``; ``ensemble`` 1 unless
    given) is trained on the other folds' records, early-stopped on a sixth of those records held
    out whole, and each held-out record is classified under every adaptation. DS2 is never read.
    Each fold is kept in the store, so a stopped run resumes at the next fold.

    Returns
    -------
    dict
        ``labels`` (n,) int (aami5, Q left out), ``records`` (n,) str, ``probabilities``: a dict
        adaptation -> (n, 5) float, and ``folds``: one metadata dict per fold.
    """
    prof = get_profile(profile)
    cfg = _fold_config(prof, overrides)
    s = {**SELF_TRAINING, **(settings or {})}
    ds = build_dataset(prof, size=cfg.size, rule=cfg.rule, scale=cfg.scale, progress=verbose > 0)
    labels = ds1_only(ds.beats, ds.labels(cfg.scheme))
    records = ds.beats["record"].astype(str).to_numpy()
    folds = patient_kfold_splits(ds.beats, labels, k, cfg.seed)
    out = {a: [] for a in adaptations}
    rows_all, metas = [], []
    for fold, (train_all, test) in enumerate(tqdm(folds, desc="DS1 patient folds", unit="fold")):
        spec = store.Spec(
            kind="cv",
            label=f"transfer-{prof.name}-{k}fold-{fold + 1}",
            params={"config": config_key(cfg), "k": k, "fold": fold + 1,
                    "adaptations": list(adaptations), "settings": s},
            module=__name__,
            data=cache_key(ds.params),
        )  # fmt: skip

        def build(folder: Path, train_all=train_all, test=test, fold=fold) -> None:
            inner = np.full(len(labels), -1, labels.dtype)
            inner[train_all] = labels[train_all]
            train, val = patient_kfold_splits(ds.beats, inner, 6, cfg.seed)[0]
            model, history, seconds = train_model(cfg, ds, train, val, verbose=verbose)
            t0 = time.perf_counter()
            probs, taken = _records_probabilities(
                model, ds, cfg, test, adaptations, train, s, f"fold {fold + 1}: records"
            )
            np.savez(folder / "scores.npz", rows=test, **probs)
            meta = {
                "fold": fold + 1, "train records": sorted(set(records[train])),
                "early-stopping records": sorted(set(records[val])),
                "test records": sorted(set(records[test])), "epochs": len(history),
                "train seconds": round(seconds, 1),
                "adapt seconds": round(time.perf_counter() - t0, 1), "taken": taken,
            }  # fmt: skip
            (folder / "fold.json").write_text(json.dumps(meta, indent=1))

        folder, _ = store.get_or_build(spec, build)
        saved = np.load(folder / "scores.npz")
        rows_all.append(saved["rows"])
        for a in adaptations:
            out[a].append(saved[a])
        metas.append(json.loads((folder / "fold.json").read_text()))
    rows = np.concatenate(rows_all)
    return {
        "labels": labels[rows], "records": records[rows],
        "probabilities": {a: np.concatenate(v) for a, v in out.items()}, "folds": metas,
    }  # fmt: skip


def fold_table(scores: dict, extra: dict | None = None) -> pd.DataFrame:
    """EC57 rows (in %) of :func:`ds1_fold_scores` pooled over the folds, one per adaptation, with
    S and V F1; ``extra``: more name -> (n, 5) probabilities over the same beats (the trees')."""
    rows = {}
    named = {f"CNN, {a}": p for a, p in scores["probabilities"].items()} | (extra or {})
    for name, p in named.items():
        rows[name] = with_f1(ec57_row(ec57_metrics(scores["labels"], p.argmax(axis=1))))
    return pd.DataFrame(rows).T


def with_f1(row: dict) -> dict:
    """An :func:`ecgutils.evaluate.ec57_row` with ``S F1 (%)`` and ``V F1 (%)`` added."""
    for c in "SV":
        se, ppv = row[f"{c} Se (%)"], row[f"{c} +P (%)"]
        row[f"{c} F1 (%)"] = 0.0 if se + ppv == 0 else 2 * se * ppv / (se + ppv)
    return row


def adapted_interpatient(
    profile: Profile | str | None = "standard",
    adaptation: str = "batchnorm",
    *,
    settings: dict | None = None,
    retrain: bool = False,
    verbose: int = 0,
    **overrides,
) -> dict:
    """The CNN recipe trained on DS1 (:func:`ecgutils.train.load_or_train`), each DS2 record then
    adapted on its own unlabelled beats (:func:`adapt_and_predict`) and scored (EC57).

    Returns
    -------
    dict
        ``ec57`` (:func:`ecgutils.evaluate.ec57_metrics`), ``labels``, ``probabilities``,
        ``records`` over the DS2 beats, and ``metadata`` (the model's, adaptation seconds, beats
        each record took).
    """
    prof = get_profile(profile)
    tm = load_or_train(prof, retrain=retrain, verbose=verbose, **{**INTERPATIENT, **overrides})
    cfg, ds = tm.config, tm.dataset
    s = {**SELF_TRAINING, **(settings or {})}
    spec = store.Spec(
        kind="cv", label=f"transfer-{prof.name}-ds2-{adaptation}",
        params={"model": tm.metadata["key"], "adaptation": adaptation, "settings": s},
        module=__name__, data=cache_key(ds.params),
    )  # fmt: skip

    def build(folder: Path) -> None:
        labels = ds.labels(cfg.scheme)
        train = learnt_rows(labels, tm.split["train"])
        test = tm.split["test"]
        t0 = time.perf_counter()
        probs, taken = _records_probabilities(
            tm.model, ds, cfg, test, (adaptation,), train, s, f"DS2 records ({adaptation})"
        )
        np.savez(folder / "scores.npz", rows=test, probabilities=probs[adaptation])
        meta = {
            "model": tm.metadata["key"], "adaptation": adaptation, "settings": s,
            "model train seconds": tm.metadata["train_seconds"],
            "adapt seconds": round(time.perf_counter() - t0, 1), "taken": taken,
        }  # fmt: skip
        (folder / "metadata.json").write_text(json.dumps(meta, indent=1))

    folder, _ = store.get_or_build(spec, build, force=retrain)
    saved = np.load(folder / "scores.npz")
    labels = ds.labels(cfg.scheme)[saved["rows"]]
    probs = saved["probabilities"]
    records = ds.beats["record"].astype(str).to_numpy()[saved["rows"]]
    meta = {**json.loads((folder / "metadata.json").read_text()), "model": tm.metadata}
    return {
        "ec57": ec57_metrics(labels, probs.argmax(axis=1)), "labels": labels,
        "probabilities": probs, "records": records, "metadata": meta,
    }  # fmt: skip
