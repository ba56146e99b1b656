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

``"head"``
    The same self-training, but only the network's head (its last two dense layers) learns; the
    convolutional trunk is frozen, so each beat's features are computed once and the head
    is fine-tuned on them (:class:`HeadSelfTrainer`): about 2 s a record a network here, where
    full self-training takes about 13 s (Keras' ``fit`` overhead dominates the head's 2 s).

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
from ..config import DS1, Profile, get_profile
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
from .adversarial import ADVERSARIAL, load_or_train_adversarial, train_adversarial
from .heads import members, split_head
from .ledger import f1
from .studies import INTERPATIENT

ADAPTATIONS = ("none", "batchnorm", "selftrain", "head")
#: How a network is trained: the recipe as it is (:func:`ecgutils.train.train_model`), or against a
#: patient critic (:func:`ecgutils.research.adversarial.train_adversarial`); with the module whose
#: code keys the stored networks.
TRAINERS = {
    "plain": (train_model, "ecgutils.train"),
    "adversarial": (train_adversarial, "ecgutils.research.adversarial"),
}
#: The adaptations that learn from the record's confident beats (:data:`SELF_TRAINING`).
SELF_TRAINED = ("selftrain", "head")
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


class HeadSelfTrainer:
    """Self-training of each network's head only, on features computed once.

    Parameters
    ----------
    model : keras.Model
        One network, or an ensemble of them (each member's head learns on its own).
    train_inputs, train_labels
        A class-balanced sample of the training beats (:func:`balanced_sample`) and their
        classes; their features are computed once here.
    settings : dict, optional
        :data:`SELF_TRAINING` keys; ``local_weight`` (default 1) weighs each of the record's
        beats, ``freeze_bn`` (default False) keeps the head's batch norm as trained (it marks
        those layers, the network's own, not trainable: build the trainer on a model you no
        longer train otherwise).

    Calling it with one record's inputs returns ``(probabilities, taken)`` as
    :func:`adapt_and_predict` does; the heads' weights are restored after every record.
    """

    def __init__(self, model, train_inputs: dict, train_labels: np.ndarray, *,
                 settings: dict | None = None, seed: int = 2018):  # fmt: skip
        keras = import_keras()
        self.settings = {**SELF_TRAINING, **(settings or {})}
        self.seed = seed
        self.parts = [split_head(m) for m in members(model)]
        self.train_features = [network_probabilities(t, train_inputs) for t, _ in self.parts]
        self.train_labels = np.asarray(train_labels, np.int64)
        for _, head in self.parts:
            if self.settings.get("freeze_bn"):  # batch norm keeps the training patients' statistics
                for layer in head.layers:
                    if isinstance(layer, keras.layers.BatchNormalization):
                        layer.trainable = False  # Keras then runs it in inference mode
            head.compile(
                optimizer=keras.optimizers.Adam(self.settings["learning_rate"]),
                loss="sparse_categorical_crossentropy",
            )
            head.optimizer.build(head.trainable_variables)
        # what every record starts from: the heads' variables (weights, batch-norm statistics,
        # dropout's random state) and fresh optimizer state
        self.start = [[(v, v.numpy()) for v in [*h.variables, *h.optimizer.variables]]
                      for _, h in self.parts]  # fmt: skip

    def __call__(self, inputs: dict) -> tuple[np.ndarray, int]:
        keras = import_keras()
        features = [network_probabilities(t, inputs) for t, _ in self.parts]
        probs = np.mean([network_probabilities(h, {h.inputs[0].name.split(":")[0]: f})
                         for (_, h), f in zip(self.parts, features)], axis=0)  # fmt: skip
        sure = probs.max(axis=1) >= self.settings["confidence"]
        if not sure.any():
            return probs, 0
        own = probs.argmax(axis=1)[sure]  # the network's labels, never the truth
        y = np.concatenate([self.train_labels, own])
        weight = np.r_[
            np.ones(len(self.train_labels)),
            np.full(len(own), float(self.settings.get("local_weight", 1.0))),
        ]
        out = []
        for (_, head), f, f_train, start in zip(
            self.parts, features, self.train_features, self.start
        ):
            keras.utils.set_random_seed(self.seed)
            try:
                head.fit(
                    np.concatenate([f_train, f[sure]]),
                    y,
                    sample_weight=weight,
                    batch_size=128,
                    epochs=self.settings["epochs"],
                    shuffle=True,
                    verbose=0,
                )
                out.append(network_probabilities(head, {head.inputs[0].name.split(":")[0]: f}))
            finally:
                for v, value in start:
                    v.assign(value)
        return np.mean(out, axis=0), int(sure.sum())


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
        ``"selftrain"`` and ``"head"``: a class-balanced sample of the training beats and
        their classes.
    settings : dict, optional
        :data:`SELF_TRAINING` keys (``confidence``, ``epochs``, ``learning_rate``; ``"head"``
        also takes ``local_weight``, the weight of each of the record's beats, default 1).

    Returns
    -------
    probabilities : (n, n_classes) float array
    taken : int
        Beats of the record taken as its own training beats (0 unless self-trained).
    """
    if adaptation not in ADAPTATIONS:
        raise ValueError(f"adaptation must be one of {ADAPTATIONS}, got {adaptation!r}.")
    if adaptation == "none":
        return network_probabilities(model, inputs), 0
    if adaptation == "head":
        if train_inputs is None or train_labels is None:
            raise ValueError("adaptation='head' needs train_inputs and train_labels.")
        trainer = HeadSelfTrainer(model, train_inputs, train_labels, settings=settings, seed=seed)
        return trainer(inputs)
    # every variable: weights, batch-norm statistics and dropout's random state, so each record
    # starts from the same network
    saved = [(v, v.numpy()) for v in model.variables]
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
        for v, value in saved:
            v.assign(value)


def _records_probabilities(model, ds, cfg, rows, adaptations, train_rows, settings, desc):
    """Each adaptation's probabilities over ``rows``, record by record."""
    labels = ds.labels(cfg.scheme)
    records = ds.beats["record"].astype(str).to_numpy()
    sample = balanced_sample(labels, train_rows, settings["per_class"], cfg.seed)
    train_inputs = model_inputs(ds, sample, cfg)
    n_classes = len(scheme_classes(cfg.scheme))
    probs = {a: np.zeros((len(rows), n_classes), np.float32) for a in adaptations}
    taken = {}
    head = (
        HeadSelfTrainer(model, train_inputs, labels[sample], settings=settings, seed=cfg.seed)
        if "head" in adaptations
        else None
    )
    for name in tqdm(list(dict.fromkeys(records[rows])), desc=desc, unit="record"):
        part = np.flatnonzero(records[rows] == name)
        inputs = model_inputs(ds, rows[part], cfg)
        for a in adaptations:
            if a == "head":
                probs[a][part], n = head(inputs)
            else:
                probs[a][part], n = adapt_and_predict(
                    model, inputs, a, train_inputs=train_inputs, train_labels=labels[sample],
                    settings=settings, seed=cfg.seed,
                )  # fmt: skip
            if a in SELF_TRAINED:
                taken[name] = n
    return probs, taken


def _fold_config(prof: Profile, overrides: dict) -> TrainConfig:
    return config_from_profile(prof, **{**INTERPATIENT, "ensemble": 1, **overrides})


def fold_networks(
    profile: Profile | str | None = "standard",
    *,
    k: int = 4,
    trainer: str = "plain",
    verbose: int = 0,
    **overrides,
) -> list[dict]:
    """One network of the CNN recipe per patient-grouped fold of DS1, trained on the other folds.

    DS1's records are split into ``k`` patient-grouped folds
    (:func:`ecgutils.evaluate.patient_kfold_splits`); each fold's network
    (:data:`ecgutils.research.studies.INTERPATIENT` with ``overrides``; ``ensemble`` 1 unless
    given) is trained on the other folds' records and early-stopped on a sixth of those records
    held out whole, by ``trainer`` (:data:`TRAINERS`). DS2 is never read. Each network is kept in
    the store, keyed by the training code (:mod:`ecgutils.train`, or
    :mod:`ecgutils.research.adversarial`) and its records, not by this module: trying another
    adaptation here never trains them again.

    Returns
    -------
    list of dict, one per fold
        ``model`` (keras.Model), ``train``, ``val``, ``test`` (beat rows of the dataset) and
        ``meta`` (records, epochs, seconds), and ``key`` (the stored network's key).
    """
    keras = import_keras()
    if trainer not in TRAINERS:
        raise ValueError(f"trainer must be one of {', '.join(TRAINERS)}, got {trainer!r}.")
    fit, module = TRAINERS[trainer]
    prof = get_profile(profile)
    cfg = _fold_config(prof, overrides)
    ds = build_dataset(prof, size=cfg.size, rule=cfg.rule, scale=cfg.scale, progress=verbose > 0)
    labels = ds1_only(ds.beats, ds.labels(cfg.scheme))
    records = ds.beats["record"].astype(str).to_numpy()
    named = "" if trainer == "plain" else f"-{trainer}"
    extra = {} if trainer == "plain" else {"trainer": trainer, "settings": ADVERSARIAL}
    out = []
    folds = patient_kfold_splits(ds.beats, labels, k, cfg.seed)
    for fold, (train_all, test) in enumerate(tqdm(folds, desc="DS1 patient folds", unit="fold")):
        inner = np.full(len(labels), -1, labels.dtype)
        inner[train_all] = labels[train_all]
        train, val = patient_kfold_splits(ds.beats, inner, 6, cfg.seed)[0]
        meta = {
            "fold": fold + 1, "train records": sorted(set(records[train])),
            "early-stopping records": sorted(set(records[val])),
            "test records": sorted(set(records[test])),
        }  # fmt: skip
        spec = store.Spec(
            kind="cv", label=f"transfer-{prof.name}-{k}fold-{fold + 1}-network{named}",
            params={"config": config_key(cfg), "k": k, **meta, **extra},
            module=module, data=cache_key(ds.params),
        )  # fmt: skip

        def build(folder: Path, train=train, val=val, meta=meta) -> None:
            model, history, seconds = fit(cfg, ds, train, val, verbose=verbose)
            model.save(folder / "model.keras")
            done = {**meta, "epochs": len(history), "train seconds": round(seconds, 1)}
            (folder / "fold.json").write_text(json.dumps(done, indent=1))

        folder, _ = store.get_or_build(spec, build)
        out.append({
            "model": keras.saving.load_model(folder / "model.keras", compile=False),
            "train": train, "val": val, "test": test, "key": spec.key,
            "meta": json.loads((folder / "fold.json").read_text()),
        })  # fmt: skip
    return out


def ds1_fold_scores(
    profile: Profile | str | None = "standard",
    *,
    k: int = 4,
    adaptations: tuple[str, ...] = ADAPTATIONS,
    settings: dict | None = None,
    trainer: str = "plain",
    verbose: int = 0,
    **overrides,
) -> dict:
    """Out-of-fold scores of the CNN recipe on DS1 alone, each adaptation side by side.

    Each fold's network (:func:`fold_networks`, trained by ``trainer``) classifies its held-out
    records under every adaptation; ``settings`` (:data:`SELF_TRAINING` keys) apply to
    ``"selftrain"`` and ``"head"`` alike. DS2 is never read. Each fold's scores are kept in the
    store per adaptation, so a stopped run resumes, and a new adaptation scores only itself.

    Returns
    -------
    dict
        ``labels`` (n,) int (aami5, Q left out), ``records`` (n,) str, ``probabilities``: a dict
        adaptation -> (n, 5) float, and ``folds``: one metadata dict per fold (with ``adapt
        seconds`` and ``taken`` per adaptation).
    """
    prof = get_profile(profile)
    cfg = _fold_config(prof, overrides)
    s = {**SELF_TRAINING, **(settings or {})}
    ds = build_dataset(prof, size=cfg.size, rule=cfg.rule, scale=cfg.scale, progress=verbose > 0)
    labels = ds1_only(ds.beats, ds.labels(cfg.scheme))
    records = ds.beats["record"].astype(str).to_numpy()
    out = {a: [] for a in adaptations}
    rows_all, metas = [], []
    for net in fold_networks(prof, k=k, trainer=trainer, verbose=verbose, **overrides):
        meta = dict(net["meta"])
        for a in adaptations:
            spec = store.Spec(
                kind="cv", label=f"transfer-{prof.name}-{k}fold-{meta['fold']}-{trainer}-{a}",
                params={"network": net["key"], "adaptation": a,
                        "settings": s if a in SELF_TRAINED else {}},
                module=__name__, data=cache_key(ds.params),
            )  # fmt: skip

            def build(folder: Path, net=net, a=a) -> None:
                t0 = time.perf_counter()
                probs, taken = _records_probabilities(
                    net["model"], ds, cfg, net["test"], (a,), net["train"], s,
                    f"fold {net['meta']['fold']}: records ({a})",
                )  # fmt: skip
                np.savez(folder / "scores.npz", rows=net["test"], probabilities=probs[a])
                done = {"adapt seconds": round(time.perf_counter() - t0, 1), "taken": taken}
                (folder / "adapt.json").write_text(json.dumps(done, indent=1))

            folder, _ = store.get_or_build(spec, build)
            saved = np.load(folder / "scores.npz")
            out[a].append(saved["probabilities"])
            adapt = json.loads((folder / "adapt.json").read_text())
            meta[f"{a}: adapt seconds"] = adapt["adapt seconds"]
            if adapt["taken"]:
                meta[f"{a}: taken"] = adapt["taken"]
        rows_all.append(net["test"])
        metas.append(meta)
    rows = np.concatenate(rows_all)
    return {
        "labels": labels[rows], "records": records[rows],
        "probabilities": {a: np.concatenate(v) for a, v in out.items()}, "folds": metas,
    }  # fmt: skip


#: The head's self-training settings tried on the DS1 folds (fixed before any was scored): the
#: full self-training's own, then more steps, then the record's beats weighing as in the trees'
#: self-training (``local_weight`` 10, chapter 09). :func:`chosen_head_settings` keeps the best.
HEAD_GRID: tuple[dict, ...] = (
    {},
    {"learning_rate": 1e-3, "epochs": 3},
    {"learning_rate": 1e-3, "epochs": 3, "local_weight": 10.0},
    {"learning_rate": 1e-3, "epochs": 5, "local_weight": 10.0, "confidence": 0.95},
)


def settings_text(settings: dict) -> str:
    """``settings`` over :data:`SELF_TRAINING` in one short line (``"as selftrain"`` if none)."""
    return ", ".join(f"{k} {v:g}" for k, v in settings.items()) or "as selftrain"


def head_grid(profile: Profile | str | None = "standard", *, k: int = 4,
              grid: tuple[dict, ...] = HEAD_GRID, trainer: str = "plain",
              verbose: int = 0) -> pd.DataFrame:  # fmt: skip
    """The head's self-training under each of ``grid``'s settings, on the DS1 folds only
    (:func:`ds1_fold_scores`, networks trained by ``trainer``): one EC57 row (in %, with S and
    V F1) per setting, indexed by :func:`settings_text`, and a column ``S F1 + V F1`` that
    :func:`chosen_head_settings` ranks."""
    rows = {}
    for settings in grid:
        scores = ds1_fold_scores(profile, k=k, adaptations=("head",), settings=settings,
                                 trainer=trainer, verbose=verbose)  # fmt: skip
        pred = scores["probabilities"]["head"].argmax(axis=1)
        rows[settings_text(settings)] = with_f1(ec57_row(ec57_metrics(scores["labels"], pred)))
    table = pd.DataFrame(rows).T
    table["S F1 + V F1"] = table["S F1 (%)"] + table["V F1 (%)"]
    table.index.name = "head settings"
    return table


def chosen_head_settings(table: pd.DataFrame, grid: tuple[dict, ...] = HEAD_GRID) -> dict:
    """The settings of ``grid`` whose row of :func:`head_grid`'s ``table`` has the best
    S F1 + V F1 (the first of equals)."""
    best = table["S F1 + V F1"].to_numpy().argmax()
    return dict(grid[int(best)])


def head_settings_for(
    profile: Profile | str | None = "standard", *, k: int = 4, trainer: str = "plain"
) -> dict:
    """The head's self-training settings for ``profile`` and ``trainer``: the best of
    :data:`HEAD_GRID` on its DS1 patient folds (:func:`head_grid`,
    :func:`chosen_head_settings`), or :data:`SELF_TRAINING` as it is (``{}``) when the profile
    holds fewer than ``k`` DS1 records."""
    prof = get_profile(profile)
    if len(set(prof.records) & set(DS1)) < k:
        return {}
    return chosen_head_settings(head_grid(prof, k=k, trainer=trainer))


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
        row[f"{c} F1 (%)"] = f1(row[f"{c} Se (%)"], row[f"{c} +P (%)"])
    return row


def adapted_interpatient(
    profile: Profile | str | None = "standard",
    adaptation: str = "batchnorm",
    *,
    settings: dict | None = None,
    trainer: str = "plain",
    retrain: bool = False,
    verbose: int = 0,
    **overrides,
) -> dict:
    """The CNN recipe trained on DS1 (:func:`ecgutils.train.load_or_train`, or
    :func:`ecgutils.research.adversarial.load_or_train_adversarial` with
    ``trainer="adversarial"``), each DS2 record then adapted on its own unlabelled beats
    (:func:`adapt_and_predict`) and scored (EC57).

    Returns
    -------
    dict
        ``ec57`` (:func:`ecgutils.evaluate.ec57_metrics`), ``labels``, ``probabilities``,
        ``records`` over the DS2 beats, and ``metadata`` (the model's, adaptation seconds, beats
        each record took).
    """
    prof = get_profile(profile)
    if trainer == "adversarial":
        tm = load_or_train_adversarial(prof, retrain=retrain, verbose=verbose, **overrides)
    elif trainer == "plain":
        tm = load_or_train(prof, retrain=retrain, verbose=verbose, **{**INTERPATIENT, **overrides})
    else:
        raise ValueError(f"trainer must be one of {', '.join(TRAINERS)}, got {trainer!r}.")
    cfg, ds = tm.config, tm.dataset
    s = {**SELF_TRAINING, **(settings or {})}
    named = "" if trainer == "plain" else f"-{trainer}"
    spec = store.Spec(
        kind="cv", label=f"transfer-{prof.name}-ds2{named}-{adaptation}",
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
