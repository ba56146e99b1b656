"""Measuring a classifier the way the paper did: accuracy, and per class sensitivity,
specificity, positive predictivity and F1, from scikit-learn.

For class *k*, counting beats of class *k* as positives: sensitivity Se = TP / (TP + FN)
(recall), specificity Sp = TN / (TN + FP), positive predictivity +P = TP / (TP + FP)
(precision), F1 = 2 Se +P / (Se + +P). Macro averages are plain means over the classes that
occur in the test set. Splits: a stratified hold-out (:func:`holdout_split`) or stratified
k-fold (:func:`kfold_splits`, the paper's 10-fold cross-validation).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from .classes import scheme_classes


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
    from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

    classes = scheme_classes(scheme)
    labels = list(range(len(classes)))
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    ppv, se, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0
    )
    cm = confusion_matrix(y_true, y_pred, labels=labels)
    fp = cm.sum(axis=0) - np.diag(cm)
    tn = cm.sum() - cm.sum(axis=1) - fp
    sp = np.divide(tn, tn + fp, out=np.zeros(len(labels)), where=(tn + fp) > 0)
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
        "accuracy": float(accuracy_score(y_true, y_pred)),
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
    """Write metrics as JSON (atomically: a temporary file renamed into place)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(metrics, indent=1))
    os.replace(tmp, path)
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
