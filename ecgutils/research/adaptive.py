"""Studies of the trees on new patients: class weights, the CNN beside them, labelled minutes.

The class-weight exponent on DS1 patient folds (:func:`choose_balance_power`), the CNN recipe
against the trees on DS2 (:func:`recipe_comparison`), and the patient-adaptive protocol of de
Chazal & Reilly 2006 (:func:`patient_adaptive_trees`)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from .. import store
from ..classes import scheme_classes
from ..config import DS1, DS2, MITDB_FS, MITDB_RECORD_MINUTES, Profile, get_profile
from ..dataset import build_dataset
from ..evaluate import (
    ds1_only,
    ec57_metrics,
    ec57_row,
    interpatient_rows,
    learnt_rows,
    patient_kfold_splits,
)
from ..selftraining import AdaptiveResult
from ..train import load_or_train
from ..trees import TREES_BALANCE_POWER, _spec, load_or_train_trees, train_trees, tree_features
from .studies import INTERPATIENT

#: de Chazal & Reilly 2006 (IEEE Trans Biomed Eng 53(12)): DS1 -> DS2 with the first 5 minutes of
#: each DS2 record labelled by an expert and used, EC57 (%). Sensitivity / positive predictivity.
PATIENT_ADAPTIVE_LITERATURE = {"S Se": 87.7, "S +P": 47.0, "V Se": 94.3, "V +P": 96.2}


def choose_balance_power(
    profile: Profile | str | None = None,
    powers: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0),
    *,
    k: int = 5,
    n_models: int = 1,
    seed: int = 2018,
    records: tuple[str, ...] | None = None,
    max_iter: int = 300,
) -> pd.DataFrame:
    """Pick the trees' class-weight exponent on DS1 alone: patient-grouped k-fold.

    Every DS1 record's beats are predicted by trees trained on the other folds' records
    (:func:`ecgutils.evaluate.patient_kfold_splits`); the pooled predictions are scored per
    EC57. DS2 is not touched, so the choice cannot flatter the DS1 -> DS2 figures.
    ``records`` replaces DS1 (the profile's records among them are used).

    Returns
    -------
    DataFrame
        One row per exponent: accuracy and Se / +P of S and V (%), and ``score``, the mean of
        the S and V F1 (the row with the highest score is the choice).
    """

    pool = DS1 if records is None else tuple(str(r) for r in records)
    prof = get_profile(profile)
    ds = build_dataset(prof, rule="fixed", scale="patient", progress=False)
    classes = scheme_classes("aami5")
    labels = ds1_only(ds.beats, ds.labels("aami5"), pool)
    folds = patient_kfold_splits(ds.beats, labels, k, seed)
    feats = tree_features(ds)
    rows = {}
    for power in powers:
        pred = np.full(len(labels), -1)
        for train, test in folds:
            trees = train_trees(
                feats[train], labels[train], classes, balance_power=power,
                n_models=n_models, seed=seed, max_iter=max_iter, progress=False,
            )  # fmt: skip
            pred[test] = trees.predict_proba(feats[test]).argmax(axis=1)
        done = pred >= 0
        ec = ec57_metrics(labels[done], pred[done])
        row = {"accuracy (%)": 100 * ec["accuracy"]}
        f1 = []
        for c in "SV":
            se, ppv = ec["per_class"][c]["se"], ec["per_class"][c]["ppv"]
            row[f"{c} Se (%)"], row[f"{c} +P (%)"] = 100 * se, 100 * ppv
            f1.append(2 * se * ppv / (se + ppv) if se + ppv > 0 else 0.0)
        row["score"] = float(np.mean(f1))
        rows[power] = row
    table = pd.DataFrame(rows).T
    table.index.name = "balance power"
    return table


def recipe_comparison(
    profile: Profile | str | None = None, *, trees: dict | None = None, **cnn_overrides
) -> pd.DataFrame:
    """The CNN recipe, the trees, and their average, on the same DS2 beats (EC57, %).

    The CNN is :data:`ecgutils.experiments.INTERPATIENT` (cached, trained if missing: minutes on the
    standard profile), changed by ``cnn_overrides`` (e.g. ``ensemble=1``); the trees are
    :func:`load_or_train_trees` with the keyword arguments ``trees``; the average is the
    mean of the two models' class probabilities, equal weights (fixed beforehand, not tuned on DS2).

    Returns
    -------
    DataFrame
        Rows: ``CNN recipe``, ``trees``, ``CNN and trees averaged``; columns of
        :func:`ecgutils.experiments.ec57_row`.
    """

    tt = load_or_train_trees(profile, **(trees or {}))
    cnn = load_or_train(profile, verbose=0, **{**INTERPATIENT, **cnn_overrides})
    test = tt.split["test"]
    if not np.array_equal(cnn.split["test"], test):
        raise RuntimeError("The CNN and the trees were tested on different beats; rebuild both.")
    truth = tt.dataset.labels("aami5")[test]
    p_cnn = cnn.predict(test)
    rows = {
        "CNN recipe": p_cnn,
        "trees": tt.probabilities,
        "CNN and trees averaged": (p_cnn + tt.probabilities) / 2,
    }
    return pd.DataFrame(
        {k: ec57_row(ec57_metrics(truth, p.argmax(axis=1))) for k, p in rows.items()}
    ).T


def patient_adaptive_trees(
    profile: Profile | str | None = None,
    *,
    minutes: float = 5.0,
    local_weight: float = 10.0,
    balance_power: float = TREES_BALANCE_POWER,
    seed: int = 2018,
    max_iter: int = 300,
    retrain: bool = False,
    progress: bool = True,
) -> AdaptiveResult:
    """The patient-adaptive protocol (de Chazal & Reilly 2006), with the trees' features.

    For each DS2 record: trees trained on DS1 *and* the record's first ``minutes`` of beats with
    their reference labels (as if a cardiologist labelled them), each of those beats weighing
    ``local_weight`` times a DS1 beat of its class; the rest of the record is scored. It answers
    a clinician's question (what do a few labelled minutes of this patient buy?) and is never
    mixed with the inter-patient figures, which use no label of a DS2 patient.

    One tree model per DS2 record (22 in the standard profile: a few minutes on 2 cores),
    stored like the other trees (``data/models/trees/<profile>-adaptive-<key>/``).

    Returns
    -------
    AdaptiveResult
        The scored beats (after the first ``minutes`` of each DS2 record; Q beats kept and left
        out of the EC57 figures) with the EC57 metrics and the labelled beats per record.
    """

    if not 0 < minutes < MITDB_RECORD_MINUTES:
        raise ValueError(
            f"minutes={minutes:g}: the labelled start of each record must be longer than 0 and "
            f"shorter than the {MITDB_RECORD_MINUTES:g}-minute MIT-BIH records, or nothing is "
            "labelled or left to score; pass e.g. minutes=5 (`--minutes 5` on the command line)."
        )
    prof = get_profile(profile)
    ds = build_dataset(prof, rule="fixed", scale="patient", progress=False)
    settings = {
        "minutes": minutes, "local_weight": local_weight, "balance_power": balance_power,
        "seed": seed, "max_iter": max_iter, "protocol": "patient-adaptive",
    }  # fmt: skip
    spec = _spec(f"{prof.name}-adaptive", settings, ds)

    def build(folder: Path) -> None:
        classes = scheme_classes("aami5")
        labels = ds.labels("aami5")
        records = ds.beats["record"].astype(str).to_numpy()
        ds1, test = interpatient_rows(ds.beats, labels, seed)
        early = ds.beats["r"].to_numpy() < minutes * 60 * MITDB_FS  # samples
        feats = tree_features(ds)
        probs = np.zeros((len(test), len(classes)))
        labelled = {}
        t0 = time.perf_counter()
        names = [r for r in DS2 if r in set(records[test])]
        for name in tqdm(names, desc="DS2 records", unit="record", disable=not progress):
            mine = records == name
            local = learnt_rows(labels, np.flatnonzero(mine & early))
            train = np.r_[ds1, local]
            model = train_trees(
                feats[train], labels[train], classes, balance_power=balance_power, n_models=1,
                max_iter=max_iter, seed=seed, progress=False,
                weight=np.r_[np.ones(len(ds1)), np.full(len(local), local_weight)],
            )  # fmt: skip
            rows = np.flatnonzero(mine[test])
            probs[rows] = model.predict_proba(feats[test[rows]])
            labelled[name] = {c: int((labels[local] == k).sum()) for k, c in enumerate(classes)}
        scored = ~early[test]
        keep = test[scored]
        pred = probs[scored].argmax(axis=1)
        metadata = {
            "key": spec.key, "profile": prof.name, "settings": settings,
            "protocol": f"DS1 + the first {minutes:g} min of each DS2 record (labelled); the rest "
                        "of the record scored",
            "labelled beats": labelled, "scored beats": int(len(keep)),
            "train_seconds": round(time.perf_counter() - t0, 1),
            "metrics": {"ec57": ec57_metrics(labels[keep], pred)},
        }  # fmt: skip
        AdaptiveResult(labels[keep], probs[scored], records[keep], metadata).save(folder)

    folder, _ = store.get_or_build(spec, build, force=retrain)
    return AdaptiveResult.load(folder)
