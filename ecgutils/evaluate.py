"""Evaluation: accuracy and per-class Se, Sp, +P and F1 (the paper's), EC57, and the splits.

Measuring a classifier the way the paper did: accuracy, and per class sensitivity,
specificity, positive predictivity and F1, from scikit-learn.

For class *k*, counting beats of class *k* as positives: sensitivity Se = TP / (TP + FN)
(recall), specificity Sp = TN / (TN + FP), positive predictivity +P = TP / (TP + FP)
(precision), F1 = 2 Se +P / (Se + +P). Macro averages are plain means over the classes that
occur in the test set. Splits: a stratified hold-out (:func:`holdout_split`) or stratified
k-fold (:func:`kfold_splits`, the paper's 10-fold cross-validation).

Source: chapter 07 (``notebooks/07_evaluation.ipynb``) writes :func:`rates_from_confusion`;
chapter 08 (``notebooks/08_new_patients.ipynb``) writes :func:`ec57_metrics` (cells marked ``#|
export``; a test fails when chapter and package differ).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from .classes import scheme_classes
from .config import DS1, DS1_VALIDATION, DS2, PACED_RECORDS
from .store import publish_file


def holdout_split(
    labels: np.ndarray, test_fraction: float = 0.2, seed: int = 2018
) -> tuple[np.ndarray, np.ndarray]:
    """Stratified random split of the labelled beats (label >= 0) into train and test indices.

    This is a *beat-level* split, as in the paper: beats of one patient land on both sides.
    """
    from sklearn.model_selection import train_test_split

    labels = np.asarray(labels)
    idx = np.flatnonzero(labels >= 0)
    train, test = train_test_split(
        idx, test_size=test_fraction, stratify=labels[idx], random_state=seed
    )
    return np.sort(train), np.sort(test)


def kfold_splits(
    labels: np.ndarray, k: int = 10, seed: int = 2018
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified k-fold splits (train, test indices) of the labelled beats."""
    from sklearn.model_selection import StratifiedKFold

    labels = np.asarray(labels)
    idx = np.flatnonzero(labels >= 0)
    folds = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    return [(idx[a], idx[b]) for a, b in folds.split(idx, labels[idx])]


#: The AAMI class that is never learnt: EC57 does not score Q beats, so training leaves them out.
UNLEARNT = "Q"


def learnt_rows(labels: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
    """The beats of ``rows`` (default: all) a model learns from: labelled (``aami5`` index >= 0)
    and not :data:`UNLEARNT` (Q). The one place that drops Q from training."""
    labels = np.asarray(labels)
    rows = np.arange(len(labels)) if rows is None else np.asarray(rows)
    return rows[(labels[rows] >= 0) & (labels[rows] != scheme_classes("aami5").index(UNLEARNT))]


def interpatient_rows(
    beats: pd.DataFrame, labels: np.ndarray, seed: int = 2018
) -> tuple[np.ndarray, np.ndarray]:
    """(train, test): every DS1 beat a model learns from (:func:`learnt_rows`; the validation
    part of :func:`interpatient_split` included, for models that hold out their own) and every
    scored DS2 beat, both sorted. ``labels``: ``aami5`` indices."""
    split = interpatient_split(beats, labels, seed=seed)
    return learnt_rows(labels, np.sort(np.r_[split["train"], split["val"]])), split["test"]


def ds1_only(beats: pd.DataFrame, labels: np.ndarray, records=DS1) -> np.ndarray:
    """``labels`` (``aami5`` indices) with every beat outside ``records`` (default DS1) and every
    beat no model learns (:func:`learnt_rows`) set to -1: what patient folds on DS1 score."""
    out = np.full(len(labels), -1, dtype=np.asarray(labels).dtype)
    keep = learnt_rows(labels)
    keep = keep[np.isin(beats["record"].astype(str).to_numpy()[keep], records)]
    out[keep] = np.asarray(labels)[keep]
    return out


def interpatient_split(
    beats: pd.DataFrame,
    labels: np.ndarray,
    *,
    val_records: tuple[str, ...] = DS1_VALIDATION,
    seed: int = 2018,
    val_fraction: float = 0.1,
) -> dict:
    """de Chazal et al. 2004: train on DS1 patients, test on DS2 patients.

    Parameters
    ----------
    beats : DataFrame
        A beat table (its ``record`` column).
    labels : (n,) int array
        Class per beat (-1: not scored, left out everywhere).
    val_records : tuple of str
        DS1 records held out of training for early stopping. When none of them is in ``beats``
        (a small profile), a stratified ``val_fraction`` of the DS1 beats is held out instead.

    Returns
    -------
    dict
        ``train``, ``val``, ``test``: sorted beat indices. Records outside DS1 and DS2 (the
        paced 102, 104, 107, 217) are in none.
    """
    records = beats["record"].astype(str).to_numpy()
    labels = np.asarray(labels)
    ok = labels >= 0
    ds1 = np.flatnonzero(np.isin(records, DS1) & ok)
    test = np.flatnonzero(np.isin(records, DS2) & ok)
    if len(ds1) == 0 or len(test) == 0:
        raise ValueError(
            "The inter-patient split needs beats of DS1 and DS2 records; these beats come from "
            f"{sorted(set(records))}. Use a profile with records of both (e.g. 'standard')."
        )
    held = np.isin(records[ds1], val_records)
    if held.any() and not held.all():
        train, val = ds1[~held], ds1[held]
    else:
        train, val = validation_split(ds1, labels, val_fraction, seed)
    return {"train": np.sort(train), "val": np.sort(val), "test": test}


def validation_split(
    index: np.ndarray, labels: np.ndarray, fraction: float = 0.1, seed: int = 2018
) -> tuple[np.ndarray, np.ndarray]:
    """Hold a random ``fraction`` of the beats ``index`` out for early stopping.

    Stratified by ``labels[index]`` when every class present has two beats or more (otherwise
    scikit-learn cannot stratify, e.g. one patient's beats in a small profile), plain random
    otherwise. Returns sorted (train, validation) indices.
    """
    from sklearn.model_selection import train_test_split

    index = np.asarray(index)
    counts = np.bincount(np.asarray(labels)[index])
    strat = labels[index] if counts[counts > 0].min() >= 2 else None
    train, val = train_test_split(index, test_size=fraction, stratify=strat, random_state=seed)
    return np.sort(train), np.sort(val)


def patient_kfold_splits(
    beats: pd.DataFrame, labels: np.ndarray, k: int = 5, seed: int = 2018
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Patient-grouped k-fold: every record's beats fall in one fold only.

    scikit-learn's ``StratifiedGroupKFold`` with records as groups, over the labelled beats of
    the records outside :data:`ecgutils.config.PACED_RECORDS` (as in the inter-patient
    protocol), keeping the class mix of the folds as even as whole patients allow.

    Returns
    -------
    list of (train, test) index arrays
    """
    from sklearn.model_selection import StratifiedGroupKFold

    records = beats["record"].astype(str).to_numpy()
    labels = np.asarray(labels)
    idx = np.flatnonzero((labels >= 0) & ~np.isin(records, PACED_RECORDS))
    n_groups = len(set(records[idx]))
    if n_groups < k:
        raise ValueError(f"{k} patient folds need {k} or more records; the beats have {n_groups}.")
    folds = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    return [(idx[a], idx[b]) for a, b in folds.split(idx, labels[idx], groups=records[idx])]


def rates_from_confusion(cm: np.ndarray) -> dict[str, np.ndarray]:
    """Per-class sensitivity, specificity, positive predictivity and F1 from a confusion matrix
    (rows = true class, columns = predicted), each class counted as the positives in turn.

    Returns arrays over the classes: ``se``, ``sp``, ``ppv``, ``f1`` (fractions; 0 where a ratio
    has nothing to count) and ``support`` (beats of each class).
    """
    cm = np.asarray(cm, dtype=float)
    tp = np.diag(cm)  # beats of the class called that class
    fn = cm.sum(axis=1) - tp  # beats of the class called something else
    fp = cm.sum(axis=0) - tp  # other beats called this class
    tn = cm.sum() - tp - fn - fp  # other beats called something else

    def share(a, b):  # a / (a + b), 0 when there is nothing to count
        return np.divide(a, a + b, out=np.zeros_like(a), where=(a + b) > 0)

    return {
        "se": share(tp, fn),
        "sp": share(tn, fp),
        "ppv": share(tp, fp),
        "f1": share(2 * tp, fp + fn),  # the harmonic mean of Se and +P
        "support": (tp + fn).astype(int),
    }


def classification_metrics(y_true: np.ndarray, y_pred: np.ndarray, scheme: str) -> dict:
    """All the paper's metrics for one set of predictions.

    Parameters
    ----------
    y_true, y_pred : (n,) int arrays
        Class indices of the scheme.
    scheme : str

    Returns
    -------
    dict
        ``accuracy``; ``per_class`` {class: {se, sp, ppv, f1, support}}; ``macro`` {se, sp, ppv,
        f1} over classes present in ``y_true``; ``confusion`` (counts, rows = true class).
    """
    from sklearn.metrics import confusion_matrix

    classes = scheme_classes(scheme)
    labels = list(range(len(classes)))
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    cm = confusion_matrix(y_true, y_pred, labels=labels)
    rates = rates_from_confusion(cm)
    se, sp, ppv, f1, support = (rates[k] for k in ("se", "sp", "ppv", "f1", "support"))
    present = support > 0
    per_class = {
        c: {
            "se": float(se[k]),
            "sp": float(sp[k]),
            "ppv": float(ppv[k]),
            "f1": float(f1[k]),
            "support": int(support[k]),
        }
        for k, c in enumerate(classes)
    }
    macro = {
        name: float(values[present].mean()) if present.any() else float("nan")
        for name, values in (("se", se), ("sp", sp), ("ppv", ppv), ("f1", f1))
    }
    return {
        "scheme": scheme,
        "classes": classes,
        "n": int(len(y_true)),
        "accuracy": float(np.mean(y_true == y_pred)) if len(y_true) else float("nan"),
        "per_class": per_class,
        "macro": macro,
        "confusion": cm.tolist(),
    }


def metrics_table(metrics: dict) -> pd.DataFrame:
    """Per-class table (in %) with a macro-average row, from :func:`classification_metrics`."""
    rows = {c: v for c, v in metrics["per_class"].items()}
    table = pd.DataFrame(rows).T[["support", "se", "sp", "ppv", "f1"]]
    table.loc["macro"] = [np.nan, *[metrics["macro"][k] for k in ("se", "sp", "ppv", "f1")]]
    table[["se", "sp", "ppv", "f1"]] *= 100
    table.columns = ["beats", "Se (%)", "Sp (%)", "+P (%)", "F1 (%)"]
    table.index.name = "class"
    return table


def confusion_frame(metrics: dict, *, normalize: bool = False) -> pd.DataFrame:
    """The confusion matrix as a labelled frame (rows true, columns predicted); rows sum to 1
    when ``normalize``."""
    cm = np.asarray(metrics["confusion"], dtype=float)
    if normalize:
        cm = np.divide(
            cm,
            cm.sum(axis=1, keepdims=True),
            out=np.zeros_like(cm),
            where=cm.sum(axis=1, keepdims=True) > 0,
        )
    frame = pd.DataFrame(cm, index=metrics["classes"], columns=metrics["classes"])
    frame.index.name, frame.columns.name = "true", "predicted"
    return frame


def save_metrics(metrics: dict, path: str | os.PathLike) -> Path:
    """Write metrics as JSON (atomically: :func:`ecgutils.store.publish_file`)."""

    path = Path(path)
    with publish_file(path) as tmp:
        tmp.write_text(json.dumps(metrics, indent=1))
    return path


#: Classes scored by ANSI/AAMI EC57 (Q is reported but not scored).
EC57_SCORED: tuple[str, ...] = ("N", "S", "V", "F")


def ec57_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict:
    """ANSI/AAMI EC57 beat-classification statistics on ``aami5`` labels.

    Beats whose true class is Q are left out (reported as ``q_beats``). For each scored class
    (N, S, V, F), counting its beats as positives among the scored beats: Se = TP / (TP + FN),
    +P = TP / (TP + FP), FPR = FP / (FP + TN). A scored beat predicted as Q counts as a miss of
    its class. Accuracy is the share of scored beats classified correctly.

    Parameters
    ----------
    y_true, y_pred : (n,) int arrays of aami5 class indices (N=0, S=1, V=2, F=3, Q=4)
    """
    classes = scheme_classes("aami5")
    q = classes.index("Q")
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    scored = (y_true >= 0) & (y_true != q)
    t, p = y_true[scored], y_pred[scored]
    out = {
        "n": int(scored.sum()),
        "q_beats": int((y_true == q).sum()),
        "accuracy": float((t == p).mean()) if len(t) else float("nan"),
        "per_class": {},
    }
    for c in EC57_SCORED:
        k = classes.index(c)
        tp = int(((t == k) & (p == k)).sum())
        fn = int(((t == k) & (p != k)).sum())
        fp = int(((t != k) & (p == k)).sum())
        tn = int(((t != k) & (p != k)).sum())
        out["per_class"][c] = {
            "tp": tp,
            "fn": fn,
            "fp": fp,
            "tn": tn,
            "se": tp / (tp + fn) if tp + fn else float("nan"),
            "ppv": tp / (tp + fp) if tp + fp else float("nan"),
            "fpr": fp / (fp + tn) if fp + tn else float("nan"),
        }
    return out


def ec57_table(stats: dict) -> pd.DataFrame:
    """:func:`ec57_metrics` as a table in %: one row per scored class (beats, Se, +P, FPR) and an
    accuracy row."""
    rows = {
        c: {
            "beats": v["tp"] + v["fn"],
            "Se (%)": 100 * v["se"],
            "+P (%)": 100 * v["ppv"],
            "FPR (%)": 100 * v["fpr"],
        }
        for c, v in stats["per_class"].items()
    }
    table = pd.DataFrame(rows).T
    table.loc["accuracy"] = [stats["n"], np.nan, np.nan, np.nan]
    table["beats"] = table["beats"].astype(int)
    table.index.name = "class"
    table.attrs["accuracy"] = 100 * stats["accuracy"]
    return table


#: Published inter-patient results on DS2 (MIT-BIH, de Chazal's protocol), in %: S and V
#: sensitivity and positive predictivity, overall accuracy where the paper reports it.
LITERATURE: tuple[dict, ...] = (
    {
        "method": "de Chazal et al. 2004 (morphology + RR, linear discriminants)",
        "reference": "IEEE Trans Biomed Eng 51(7):1196-1206, doi:10.1109/TBME.2004.827359",
        "S Se": 76, "S +P": 38, "V Se": 77, "V +P": 82, "accuracy": None,
    },
    {
        "method": "Llamedo & Martinez 2011 (feature selection, LDA)",
        "reference": "IEEE Trans Biomed Eng 58(3):616-625",
        "S Se": 77, "S +P": 39, "V Se": 81, "V +P": 87, "accuracy": None,
    },
    {
        "method": "Mar et al. 2011 (feature selection, MLP)",
        "reference": "IEEE Trans Biomed Eng 58(8):2168-2177",
        "S Se": 83, "S +P": 33, "V Se": 86, "V +P": 75, "accuracy": None,
    },
    {
        "method": "Garcia et al. 2017 (temporal VCG, PSO + SVM)",
        "reference": "Sci Rep 7:10543, doi:10.1038/s41598-017-09837-3",
        "S Se": 62, "S +P": 53, "V Se": 87.3, "V +P": 59.4, "accuracy": 92.4,
    },
)  # fmt: skip


#: Columns a chapter leaves out of an EC57 table (they stay in the stored result and on the
#: results page): N is most beats and near 100% everywhere, F +P rests on a few hundred beats.
NOT_IN_BRIEF = ("N Se (%)", "N +P (%)", "F +P (%)", "minutes")


def brief(table: pd.DataFrame) -> pd.DataFrame:
    """The columns of an EC57 table a chapter discusses: ``table`` without :data:`NOT_IN_BRIEF`
    (also when prefixed, as in ``"DS2 N Se (%)"``), so it stays readable at a glance."""
    return table[[c for c in table.columns if not str(c).endswith(NOT_IN_BRIEF)]]


def literature_table() -> pd.DataFrame:
    """:data:`LITERATURE` as a table indexed by method."""
    table = pd.DataFrame(LITERATURE).set_index("method")
    numbers = ["S Se", "S +P", "V Se", "V +P", "accuracy"]
    table[numbers] = table[numbers].astype(float)  # rows added later may hold fractions
    return table


def per_record_table(records: np.ndarray, y_true: np.ndarray, y_pred: np.ndarray) -> pd.DataFrame:
    """EC57 figures of each record separately (aami5 labels), worst accuracy first.

    Parameters
    ----------
    records : (n,) str array
        Record of each beat.
    y_true, y_pred : (n,) int arrays of aami5 class indices

    Returns
    -------
    DataFrame indexed by record
        ``beats`` (scored), ``accuracy (%)``, beats, Se (%) of S and V (NaN where the record
        has none), and false S and false V detections (beats of other classes called S or V).
    """
    records, y_true, y_pred = (
        np.asarray(records).astype(str),
        np.asarray(y_true),
        np.asarray(y_pred),
    )
    rows = {}
    for name in sorted(set(records)):
        m = records == name
        ec = ec57_metrics(y_true[m], y_pred[m])
        row = {"beats": ec["n"], "accuracy (%)": 100 * ec["accuracy"]}
        for c in ("S", "V"):
            v = ec["per_class"][c]
            row[f"{c} beats"] = v["tp"] + v["fn"]
            row[f"{c} Se (%)"] = 100 * v["se"]
            row[f"false {c}"] = v["fp"]
        rows[name] = row
    table = pd.DataFrame(rows).T
    for col in ("beats", "S beats", "V beats", "false S", "false V"):
        table[col] = table[col].astype(int)
    table.index.name = "record"
    return table.sort_values("accuracy (%)")


def ec57_row(ec: dict) -> dict:
    """One table row of EC57 statistics (:func:`ecgutils.evaluate.ec57_metrics`), in %."""
    row = {"accuracy (%)": 100 * ec["accuracy"]}
    for c, v in ec["per_class"].items():
        row[f"{c} Se (%)"] = 100 * v["se"]
        row[f"{c} +P (%)"] = 100 * v["ppv"]
    return row
