"""Studies that train many CNNs: cross-validation, variants, the recipe, ablation, protocols.

Cross-validation, the variants of chapter 06, the inter-patient CNN recipe and its ablation,
and the protocol comparison.

Each trains several models. Those trained through :func:`ecgutils.train.load_or_train`
(variants, the recipe, the ablation, the protocol comparison's two splits) and each fold's
scores of :func:`cross_validate` are kept in the store (:mod:`ecgutils.store`), so asking again
costs seconds, and a cross-validation that was stopped goes on from the folds it finished.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from .. import store
from ..config import Profile, get_profile
from ..dataset import BeatDataset, build_dataset, cache_key
from ..evaluate import (
    classification_metrics,
    ec57_metrics,
    ec57_row,
    kfold_splits,
    patient_kfold_splits,
    validation_split,
)
from ..train import config_from_profile, config_key, load_or_train, predict, train_model


def cross_validate(
    profile: Profile | str | None = None,
    k: int = 10,
    *,
    groups: str = "beat",
    verbose: int = 0,
    **overrides,
) -> pd.DataFrame:
    """k-fold cross-validation: k models, each tested on its own fold.

    ``groups="beat"``: the paper's stratified folds of beats. ``groups="patient"``: folds of
    whole records (:func:`ecgutils.evaluate.patient_kfold_splits`), so every test beat comes
    from a patient the model never saw. Early stopping uses a validation part of each fold's
    training beats, never the fold's test beats. With ``k=10`` on the standard profile this
    trains ten models. Each fold's row is kept in the store (``data/models/cv/``; the fold's
    model is not), so a second call trains nothing and a stopped run resumes at the next fold.

    Returns
    -------
    DataFrame
        One row per fold: accuracy, macro Se, +P and F1 (fractions), test beats, seconds.
    """
    import logging

    prof = get_profile(profile)
    cfg = config_from_profile(prof, **overrides)
    if groups not in ("beat", "patient"):
        raise ValueError(f"groups must be 'beat' or 'patient', got {groups!r}.")
    ds = build_dataset(prof, size=cfg.size, rule=cfg.rule, scale=cfg.scale, progress=verbose > 0)
    labels = ds.labels(cfg.scheme)
    # k models predicting on k test sets make TensorFlow warn about retracing: expected here
    tf_log = logging.getLogger("tensorflow")
    level = tf_log.level
    tf_log.setLevel(logging.ERROR)
    try:
        rows = _run_folds(prof, cfg, ds, labels, k, groups, verbose)
    finally:
        tf_log.setLevel(level)
    return pd.DataFrame(rows).set_index("fold")


def _run_folds(
    prof: Profile, cfg, ds: BeatDataset, labels: np.ndarray, k: int, groups: str, verbose: int
):

    if groups == "patient":
        splits = patient_kfold_splits(ds.beats, labels, k, cfg.seed)
    else:
        splits = kfold_splits(labels, k, cfg.seed)
    rows = []

    for fold, (train_all, test) in enumerate(
        tqdm(splits, desc=f"{k}-fold cross-validation", unit="fold")
    ):
        spec = store.Spec(
            kind="cv",
            label=f"{groups}-{prof.name}-{k}fold-{fold + 1}",
            params={"config": config_key(cfg), "k": k, "groups": groups, "fold": fold + 1},
            module=__name__,
            data=cache_key(ds.params),
        )

        def build(folder: Path, train_all=train_all, test=test, fold=fold) -> None:
            row = _score_fold(cfg, ds, labels, train_all, test, verbose)
            (folder / "fold.json").write_text(json.dumps({"fold": fold + 1, **row}, indent=1))

        folder, _ = store.get_or_build(spec, build)
        rows.append(json.loads((folder / "fold.json").read_text()))
    return rows


def _score_fold(cfg, ds: BeatDataset, labels, train_all, test, verbose: int) -> dict:
    """Train on ``train_all`` (early-stopped on a validation part of it), score on ``test``."""

    tr, val = validation_split(train_all, labels, cfg.val_fraction, cfg.seed)
    model, _, seconds = train_model(cfg, ds, tr, val, verbose=verbose)
    pred = predict(model, ds, test, cfg).argmax(1)
    m = classification_metrics(labels[test], pred, cfg.scheme)
    row = {
        "accuracy": m["accuracy"],
        "macro Se": m["macro"]["se"],
        "macro +P": m["macro"]["ppv"],
        "macro F1": m["macro"]["f1"],
        "test beats": m["n"],
        "seconds": round(seconds, 1),
    }
    if cfg.scheme == "aami5":
        ec = ec57_metrics(labels[test], pred)
        row.update({f"{c} {q}": ec["per_class"][c][q] for c in "SV" for q in ("se", "ppv")})
        row["EC57 accuracy"] = ec["accuracy"]
        row["test records"] = ",".join(sorted(set(ds.beats["record"].astype(str)[test])))
    return row


def compare_variants(
    profile: Profile | str | None = None,
    variants: dict | None = None,
    *,
    verbose: int = 0,
    **common,
) -> pd.DataFrame:
    """Train several variants of the profile's model on the same split and compare them.

    Parameters
    ----------
    variants : dict name -> dict of TrainConfig overrides
        Default: no balancing, class weights, oversampling, class weights + crops, and class
        weights without RR features.
    verbose : int
        Keras' ``verbose`` for each model's training (0: only the bar over variants; 2: one
        line per epoch, as ``make experiments`` logs it; 1: bars per epoch and batch).
    **common
        Overrides shared by all variants (e.g. ``epochs=3``).

    Returns
    -------
    DataFrame
        One row per variant: accuracy, macro Se and +P, Se of A, V, E and ! (all in %), and
        training minutes. Each model is cached like any :func:`load_or_train` model.
    """
    variants = variants or {
        "no balancing": {"balance": "none"},
        "class weights": {"balance": "class_weight"},
        "oversampling": {"balance": "oversample"},
        "class weights + crops": {"balance": "class_weight", "augment": "random"},
        "class weights, no RR features": {"balance": "class_weight", "rr": False},
    }
    rows = {}

    bar = tqdm(variants.items(), desc="Variants", unit="model")
    for name, overrides in bar:
        bar.set_postfix_str(name)
        run = load_or_train(profile, verbose=verbose, **{**common, **overrides})
        m = run.metrics
        per = m["per_class"]
        rows[name] = {
            "accuracy (%)": 100 * m["accuracy"],
            "macro Se (%)": 100 * m["macro"]["se"],
            "macro +P (%)": 100 * m["macro"]["ppv"],
            **{f"Se {c} (%)": 100 * per[c]["se"] for c in ("A", "V", "E", "!") if c in per},
            "minutes": run.metadata["train_seconds"] / 60,
        }
    return pd.DataFrame(rows).T


#: What makes the compact CNN hold up on new patients (notebook 09): AAMI classes, the
#: inter-patient split, a fixed window around R drawn in the patient's own units next to the
#: patient's template beat, relative RR and rhythm features, gentle class weights, Q beats out of
#: training, three networks averaged. Image size and epochs are the profile's (standard: 48x48,
#: 8 epochs, early stopping). ``load_or_train("standard", **INTERPATIENT)``.
INTERPATIENT: Mapping = MappingProxyType(
    {
        "model": "compact",
        "scheme": "aami5",
        "split": "interpatient",
        "rule": "fixed",
        "scale": "patient",
        "template": True,
        "rhythm": True,
        "rr": True,
        "relative_rr": True,
        "balance": "class_weight",
        "balance_power": 0.5,
        "ignore_classes": ("Q",),
        "ensemble": 3,
    }
)

#: The ablation of notebook 09: each step adds one thing to the one before (same protocol).
_FIRST_WEIGHTS = {"balance_power": 0.75, "ignore_classes": (), "ensemble": 1}  # earlier steps
_ABLATION_STEPS: dict = {
    "as published: beat images only": {
        "rule": None, "scale": None, "template": False, "rhythm": False, "rr": False,
        "relative_rr": False, "balance": "none", **_FIRST_WEIGHTS,
    },
    "+ class weights": {
        "rule": None, "scale": None, "template": False, "rhythm": False, "rr": False,
        "relative_rr": False, **_FIRST_WEIGHTS,
    },
    "+ RR intervals (chapter 06)": {
        "rule": None, "scale": None, "template": False, "rhythm": False, "relative_rr": False,
        **_FIRST_WEIGHTS,
    },
    "+ RR relative to the patient only": {
        "rule": None, "scale": None, "template": False, "rhythm": False, **_FIRST_WEIGHTS,
    },
    "+ fixed window in patient units": {"template": False, "rhythm": False, **_FIRST_WEIGHTS},
    "+ the patient's template beat": {"rhythm": False, **_FIRST_WEIGHTS},
    "+ rhythm irregularity": {**_FIRST_WEIGHTS},
    "+ Q out of training, gentler class weights": {"ensemble": 1},
    "+ three networks averaged (the recipe)": {},
}  # fmt: skip
#: Read-only (as :data:`INTERPATIENT`): pass changed steps to :func:`interpatient_ablation`.
ABLATION_STEPS: Mapping = MappingProxyType(
    {name: MappingProxyType(step) for name, step in _ABLATION_STEPS.items()}
)


def interpatient_ablation(
    profile: Profile | str | None = "standard",
    steps: dict | None = None,
    *,
    verbose: int = 0,
    **common,
) -> pd.DataFrame:
    """Train each step of :data:`ABLATION_STEPS` on DS1 and score it on DS2 (EC57).

    Parameters
    ----------
    steps : dict name -> overrides of :data:`INTERPATIENT`, optional
    **common
        Overrides for every step (e.g. ``epochs=4``).

    Returns
    -------
    DataFrame
        One row per step: overall accuracy and Se / +P of N, S, V, F (all in %), epochs run (over
        all networks of an ensemble) and training minutes. Models are cached like any
        :func:`load_or_train` model.
    """
    rows = {}

    bar = tqdm((steps or ABLATION_STEPS).items(), desc="Ablation steps", unit="step")
    for name, overrides in bar:
        bar.set_postfix_str(name)
        run = load_or_train(profile, verbose=verbose, **{**INTERPATIENT, **common, **overrides})
        rows[name] = ec57_row(run.metrics["ec57"])
        epochs = run.metadata["epochs_run"]  # a list for an ensemble: one count per network
        rows[name]["epochs"] = sum(epochs) if isinstance(epochs, list) else epochs
        rows[name]["minutes"] = run.metadata["train_seconds"] / 60
    return pd.DataFrame(rows).T


def protocol_comparison(
    profile: Profile | str | None = None, *, k: int = 4, verbose: int = 0, **overrides
) -> pd.DataFrame:
    """One model graded three ways: random beat split, patient-grouped k-fold, DS1 -> DS2.

    The model is the profile's (chapter 06: beat images stretched to a fixed width, RR
    features, class weights) trained on AAMI classes; ``overrides`` change it (e.g.
    ``epochs=3``). The random split and DS1 -> DS2 models are cached; the k-fold models are not.

    Returns
    -------
    DataFrame
        Rows: the three protocols (the k-fold row is the mean over folds, pooled predictions
        are not used); columns: EC57 accuracy and Se / +P of S and V, in %.
    """
    common = {"scheme": "aami5", **overrides}
    rows = {}

    bar = tqdm(total=3, desc="Protocols", unit="protocol", postfix="random beat split")
    random = load_or_train(profile, verbose=verbose, **common)
    bar.update()
    bar.set_postfix_str(f"patient-grouped {k}-fold")
    rows["random beat split (20% of beats)"] = ec57_row(random.metrics["ec57"])
    folds = cross_validate(profile, k=k, groups="patient", verbose=verbose, **common)
    rows[f"patient-grouped {k}-fold"] = {
        "accuracy (%)": 100 * folds["EC57 accuracy"].mean(),
        **{f"{c} {n} (%)": 100 * folds[f"{c} {q}"].mean()
           for c in "SV" for n, q in (("Se", "se"), ("+P", "ppv"))},
    }  # fmt: skip
    bar.update()
    bar.set_postfix_str("DS1 -> DS2")
    ip = load_or_train(profile, verbose=verbose, split="interpatient", **common)
    bar.update()
    bar.close()
    rows["DS1 -> DS2 (de Chazal)"] = ec57_row(ip.metrics["ec57"])
    cols = ["accuracy (%)", "S Se (%)", "S +P (%)", "V Se (%)", "V +P (%)"]
    return pd.DataFrame(rows).T[cols]
