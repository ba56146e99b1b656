"""Experiments built on training: cross-validation, variants, the inter-patient recipe and its
ablation, the protocol comparison, and the model the course ships.

Each trains several models. Those trained through :func:`ecgutils.train.load_or_train`
(variants, the recipe, the ablation, the protocol comparison's two splits) and each fold's
scores of :func:`cross_validate` are kept in the store (:mod:`ecgutils.store`), so asking again
costs seconds, and a cross-validation that was stopped goes on from the folds it finished.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pandas as pd

from . import store
from .backend import import_keras
from .classes import scheme_table
from .config import MITDB_FS, Profile, get_profile
from .dataset import BeatDataset, build_dataset, cache_key
from .evaluate import classification_metrics, ec57_metrics
from .predict import (
    MODEL_DIR,
    SELF_TRAINING_FILE,
    TREES_DIR,
    DeployedModel,
    load_deployed_model,
    model_card_text,
)
from .train import config_from_profile, config_key, load_or_train, predict, train_model


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

    prof = profile if isinstance(profile, Profile) else get_profile(profile)
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

    from .evaluate import kfold_splits, patient_kfold_splits

    if groups == "patient":
        splits = patient_kfold_splits(ds.beats, labels, k, cfg.seed)
    else:
        splits = kfold_splits(labels, k, cfg.seed)
    rows = []
    from tqdm.auto import tqdm

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
    from .evaluate import validation_split

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
    from tqdm.auto import tqdm

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


#: What makes the compact CNN hold up on new patients (notebook 08): AAMI classes, the
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

#: The ablation of notebook 08: each step adds one thing to the one before (same protocol).
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
    from tqdm.auto import tqdm

    bar = tqdm((steps or ABLATION_STEPS).items(), desc="Ablation steps", unit="step")
    for name, overrides in bar:
        bar.set_postfix_str(name)
        run = load_or_train(profile, verbose=verbose, **{**INTERPATIENT, **common, **overrides})
        rows[name] = ec57_row(run.metrics["ec57"])
        epochs = run.metadata["epochs_run"]  # a list for an ensemble: one count per network
        rows[name]["epochs"] = sum(epochs) if isinstance(epochs, list) else epochs
        rows[name]["minutes"] = run.metadata["train_seconds"] / 60
    return pd.DataFrame(rows).T


def ec57_row(ec: dict) -> dict:
    """One table row of EC57 statistics (:func:`ecgutils.evaluate.ec57_metrics`), in %."""
    row = {"accuracy (%)": 100 * ec["accuracy"]}
    for c, v in ec["per_class"].items():
        row[f"{c} Se (%)"] = 100 * v["se"]
        row[f"{c} +P (%)"] = 100 * v["ppv"]
    return row


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
    from tqdm.auto import tqdm

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


def _figures(metrics: dict) -> dict:
    """The headline figures of :func:`ecgutils.evaluate.classification_metrics`, in %."""
    per = metrics["per_class"]
    return {
        "accuracy": round(100 * metrics["accuracy"], 2),
        "macro sensitivity": round(100 * metrics["macro"]["se"], 2),
        "per class Se / +P": {
            c: [round(100 * v["se"], 2), round(100 * v["ppv"], 2)] for c, v in per.items()
        },
        "test beats": metrics["n"],
    }


def course_model(profile: Profile | str | None = None, *, retrain: bool = False, verbose: int = 1):
    """The profile's trained model, as chapters 06, 07 and 10 use it.

    When the course ships this profile's model (``python -m ecgutils ship-model``; the
    standard profile's) and it was trained with the configuration and data the profile asks
    for today, it is read from the package, with a line saying when and how it was trained;
    nothing is trained. Otherwise, or with ``retrain=True``, this is
    :func:`ecgutils.train.load_or_train` (from the store, or trained with the code as it is now).

    Returns
    -------
    :class:`ecgutils.train.TrainedModel`
    """
    prof = profile if isinstance(profile, Profile) else get_profile(profile)
    if not retrain:
        shipped, why = _shipped_as_trained(prof)
        if shipped is not None:
            card = json.loads((MODEL_DIR / "card.json").read_text())
            speed = card.get("time_per_image_ms")
            print(
                f"The course's shipped model ({card['command']}, commit {card.get('commit', '?')}, "
                f"trained {card['trained'][:10]} in {card.get('train minutes', '?')} min"
                + (f" at {speed:.2f} ms/image" if speed else "")
                + "); course_model(retrain=True) trains it again with your code."
            )
            return shipped
        if why and verbose:
            print(why)
    return load_or_train(prof, retrain=retrain, verbose=verbose)


def _shipped_as_trained(prof: Profile):
    """(TrainedModel, None) when the shipped model is this profile's model as configured now,
    else (None, the reason)."""
    import dataclasses

    from .train import TrainedModel

    folder = MODEL_DIR
    meta_path = folder / "metadata.json"
    if not meta_path.exists():
        return None, None
    meta = json.loads(meta_path.read_text())
    if meta.get("profile") != prof.name:
        return None, None
    cfg = config_from_profile(prof)
    wanted = json.loads(json.dumps(dataclasses.asdict(cfg)))
    if meta["config"] != wanted:
        changed = sorted(k for k in wanted if meta["config"].get(k) != wanted[k])
        return None, (
            f"The shipped model was trained with other settings ({', '.join(changed)}); "
            f"training the {prof.name} profile's own."
        )
    ds = build_dataset(prof, size=cfg.size, rule=cfg.rule, scale=cfg.scale, progress=False)
    if json.loads(json.dumps(ds.params)) != meta["dataset"]:
        return None, "The shipped model was trained on other data; training the profile's own."
    keras = import_keras()
    model = keras.saving.load_model(folder / "model.keras")
    history = pd.read_csv(folder / "history.csv")
    split = dict(np.load(folder / "split.npz"))
    return TrainedModel(model, cfg, meta, history, ds, split, folder), None


def ship_model(
    profile: str = "standard",
    out: str | os.PathLike | None = None,
    *,
    verbose: int = 2,
) -> DeployedModel:
    """Train (or reuse) the profile's model and save it with its card for deployment.

    The model is :func:`ecgutils.train.load_or_train` of the profile (beat-level hold-out, the
    paper's protocol); the same configuration is also trained DS1 -> DS2 so the card states what
    to expect on new patients. Writes ``model.keras``, ``card.json`` and ``MODEL_CARD.md``, and
    the training's ``metadata.json``, ``history.csv`` and ``split.npz`` (what
    :func:`course_model` needs to serve it as the profile's trained model), into ``out``
    (default: the package's ``resources/model``), replacing what was there only once all are
    written.
    """
    keras = import_keras()
    from .models import machine_speed
    from .results import code_commit

    prof = get_profile(profile)
    speed = round(machine_speed(), 3)
    tm = load_or_train(prof, verbose=verbose)
    ip = load_or_train(prof, verbose=verbose, split="interpatient")
    meta, params = tm.metadata, tm.dataset.params
    names = scheme_table(meta["scheme"])["name"].to_dict()
    card = {
        "model": f"{meta['config']['model']} CNN, {meta['parameters']:,} parameters",
        "classes": meta["classes"],
        "class names": names,
        "scheme": meta["scheme"],
        "fs": MITDB_FS,
        "rule": params["rule"],
        "image_size": params["size"],
        "scale": params["scale"],
        "line_width": params["line_width"],
        "config": meta["config"],
        "training data": {
            "database": "MIT-BIH Arrhythmia Database 1.0.0 (PhysioNet, ODC-By 1.0), lead MLII",
            "profile": prof.name,
            "records": len(params["records"]),
            "data fingerprint": meta["data_fingerprint"],
            "beats": meta["split"],
        },
        "measured": {
            "seen patients (beat-level hold-out, as in the paper)": _figures(tm.metrics),
            "new patients (same configuration trained DS1 -> DS2)": _figures(ip.metrics),
        },
        "trained": meta["trained"],
        "train minutes": round(meta["train_seconds"] / 60, 1),
        "time_per_image_ms": speed,
        "commit": code_commit(),
        "keras": keras.__version__,
        "command": f"python -m ecgutils ship-model --profile {prof.name}",
    }
    folder = Path(out) if out is not None else MODEL_DIR
    with store.publish(folder) as tmp:
        tm.model.save(tmp / "model.keras")
        # what chapters 06, 07 and 10 need to use it as the profile's trained model
        (tmp / "metadata.json").write_text(json.dumps(meta, indent=1))
        tm.history.to_csv(tmp / "history.csv", index=False)
        np.savez_compressed(tmp / "split.npz", **tm.split)
        (tmp / "card.json").write_text(json.dumps(card, indent=1, ensure_ascii=False) + "\n")
        (tmp / "MODEL_CARD.md").write_text(model_card_text(card))
    return load_deployed_model(folder)


def _ec57_figures(ec: dict) -> dict:
    """:func:`_figures` of :func:`ecgutils.evaluate.ec57_metrics` (N, S, V, F scored; Q out)."""
    per = ec["per_class"]
    return {
        "accuracy": round(100 * ec["accuracy"], 2),
        "macro sensitivity": round(100 * float(np.nanmean([v["se"] for v in per.values()])), 2),
        "per class Se / +P": {
            c: [round(100 * v["se"], 2), round(100 * v["ppv"], 2)] for c, v in per.items()
        },
        "test beats": ec["n"],
    }


def ship_trees(profile: str = "standard", out: str | os.PathLike | None = None) -> DeployedModel:
    """Train (or reuse) the inter-patient trees recipe on every record of the profile and save
    it with its card for deployment: the course's default model (``trees``).

    The card states, as what to expect on new people, the EC57 figures of the same recipe
    trained on DS1 and scored on DS2 (:func:`ecgutils.trees.load_or_train_trees`), and those of
    self-training on each DS2 record with a sample of the DS1 beats
    (:func:`ecgutils.trees.self_trained_trees` with ``sample_cap``), which deployment does on
    request with the same-sized sample of every training beat. Writes ``trees.pkl``,
    ``self_training.npz`` (:func:`ecgutils.trees.training_sample`), ``card.json`` and
    ``MODEL_CARD.md`` into ``out`` (default: the package's ``resources/trees``), replacing what
    was there only once all are written.
    """
    import pickle

    import sklearn

    from .classes import scheme_classes
    from .models import machine_speed
    from .results import code_commit
    from .trees import (
        SAMPLE_CAP,
        load_or_train_deployed_trees,
        load_or_train_trees,
        self_trained_trees,
        training_sample,
        tree_features,
    )

    prof = get_profile(profile)
    speed = round(machine_speed(), 3)
    trees, meta = load_or_train_deployed_trees(prof)
    ip = load_or_train_trees(prof)
    st = self_trained_trees(prof, sample_cap=SAMPLE_CAP, progress=False)
    ds = build_dataset(prof, rule="fixed", scale="patient", progress=False)
    classes = scheme_classes("aami5")
    labels = ds.labels("aami5")
    train = np.flatnonzero((labels >= 0) & (labels != classes.index("Q")))  # as the trees
    x, y, stands = training_sample(
        tree_features(ds)[train], labels[train], len(classes), cap=SAMPLE_CAP,
        seed=meta["settings"]["seed"],
    )  # fmt: skip
    data = meta["dataset"]
    card = {
        "kind": "trees",
        "model": (
            f"gradient-boosted trees ({meta['settings']['n_models']} scikit-learn "
            f"HistGradientBoostingClassifier averaged; {meta['features']})"
        ),
        "classes": meta["classes"],
        "class names": scheme_table("aami5")["name"].to_dict(),
        "scheme": "aami5",
        "fs": MITDB_FS,
        "rule": data["rule"],
        "window_s": data["window_s"],
        "image_size": data["size"],
        "scale": data["scale"],
        "line_width": data["line_width"],
        "mv_range": data["mv_range"],
        "settings": meta["settings"],
        "training data": {
            "database": "MIT-BIH Arrhythmia Database 1.0.0 (PhysioNet, ODC-By 1.0), lead MLII",
            "profile": prof.name,
            "records": data["records"],
            "data fingerprint": data["data_fingerprint"],
            "beats": meta["beats"],
        },
        "self-training": {
            "confidence": st.metadata["settings"]["confidence"],
            "local_weight": st.metadata["settings"]["local_weight"],
            "sample cap": SAMPLE_CAP,
            "training beats": int(len(y)),
            "balance_power": meta["settings"]["balance_power"],
            "max_iter": ip.metadata["settings"].get("max_iter", 300),
            "seed": meta["settings"]["seed"],
        },
        "measured": {
            "new patients (same recipe trained DS1 -> DS2, EC57)": _ec57_figures(
                ip.metrics["ec57"]
            ),
            "new patients, self-trained on each record's unlabelled beats (DS1 -> DS2, EC57)": (
                _ec57_figures(st.metrics["ec57"])
            ),
        },
        "trained": meta["trained"],
        "train minutes": round(meta["train_seconds"] / 60, 1),
        "time_per_image_ms": speed,
        "commit": code_commit(),
        "scikit-learn": sklearn.__version__,
        "command": f"python -m ecgutils ship-model --kind trees --profile {prof.name}",
    }
    folder = Path(out) if out is not None else TREES_DIR
    with store.publish(folder) as tmp:
        with open(tmp / "trees.pkl", "wb") as f:
            pickle.dump(trees, f)
        np.savez_compressed(tmp / SELF_TRAINING_FILE, features=x, labels=y, stands_for=stands)
        (tmp / "card.json").write_text(json.dumps(card, indent=1, ensure_ascii=False) + "\n")
        (tmp / "MODEL_CARD.md").write_text(model_card_text(card))
    return load_deployed_model(folder)
