"""ecgutils.evaluate: metrics against scikit-learn and a case checked by hand."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score

from ecgutils import evaluate


def test_hand_checked_small_case():
    # aami5 has 5 classes; only N (0), S (1), V (2) occur
    y_true = np.array([0, 0, 0, 1, 1, 2])
    y_pred = np.array([0, 0, 1, 1, 1, 0])
    m = evaluate.classification_metrics(y_true, y_pred, "aami5")
    assert m["accuracy"] == pytest.approx(4 / 6)
    n, s, v = m["per_class"]["N"], m["per_class"]["S"], m["per_class"]["V"]
    # N: TP 2, FN 1, FP 1, TN 2;  S: TP 2, FN 0, FP 1, TN 3;  V: TP 0, FN 1, FP 0, TN 5
    assert (n["se"], n["sp"], n["ppv"]) == pytest.approx((2 / 3, 2 / 3, 2 / 3))
    assert (s["se"], s["sp"], s["ppv"]) == pytest.approx((1.0, 3 / 4, 2 / 3))
    assert (v["se"], v["sp"], v["ppv"], v["f1"]) == pytest.approx((0.0, 1.0, 0.0, 0.0))
    assert s["f1"] == pytest.approx(0.8)
    assert m["macro"]["se"] == pytest.approx((2 / 3 + 1 + 0) / 3)  # F and Q are absent
    assert m["per_class"]["F"]["support"] == 0
    assert m["confusion"][0] == [2, 1, 0, 0, 0]


def test_agrees_with_scikit_learn_on_random_predictions():
    rng = np.random.default_rng(1)
    y_true = rng.integers(0, 8, 500)
    y_pred = np.where(rng.random(500) < 0.7, y_true, rng.integers(0, 8, 500))
    m = evaluate.classification_metrics(y_true, y_pred, "paper8")
    labels = list(range(8))
    assert m["accuracy"] == pytest.approx(accuracy_score(y_true, y_pred))
    se = [m["per_class"][c]["se"] for c in m["classes"]]
    ppv = [m["per_class"][c]["ppv"] for c in m["classes"]]
    f1 = [m["per_class"][c]["f1"] for c in m["classes"]]
    np.testing.assert_allclose(se, recall_score(y_true, y_pred, labels=labels, average=None))
    np.testing.assert_allclose(ppv, precision_score(y_true, y_pred, labels=labels, average=None))
    np.testing.assert_allclose(f1, f1_score(y_true, y_pred, labels=labels, average=None))
    assert m["macro"]["se"] == pytest.approx(recall_score(y_true, y_pred, average="macro"))
    # specificity of class k = recall of "not k"
    for k, c in enumerate(m["classes"]):
        assert m["per_class"][c]["sp"] == pytest.approx(recall_score(y_true != k, y_pred != k))


def test_tables_and_json(tmp_path):
    m = evaluate.classification_metrics(np.array([0, 1, 1, 4]), np.array([0, 1, 4, 4]), "paper8")
    table = evaluate.metrics_table(m)
    assert list(table.columns) == ["beats", "Se (%)", "Sp (%)", "+P (%)", "F1 (%)"]
    assert table.loc["L", "Se (%)"] == pytest.approx(50.0) and "macro" in table.index
    norm = evaluate.confusion_frame(m, normalize=True)
    assert norm.loc["L"].sum() == pytest.approx(1.0) and norm.loc["R"].sum() == 0
    path = evaluate.save_metrics(m, tmp_path / "m" / "metrics.json")
    assert json.loads(path.read_text())["accuracy"] == pytest.approx(0.75)
    assert [p.name for p in path.parent.iterdir()] == ["metrics.json"]


def test_splits_are_stratified_disjoint_and_skip_unlabelled():
    labels = np.array([0] * 80 + [1] * 15 + [2] * 5 + [-1] * 7)
    train, test = evaluate.holdout_split(labels, 0.2, seed=3)
    assert not set(train) & set(test) and len(train) + len(test) == 100
    assert np.bincount(labels[test]).tolist() == [16, 3, 1]
    again = evaluate.holdout_split(labels, 0.2, seed=3)
    np.testing.assert_array_equal(again[1], test)
    folds = evaluate.kfold_splits(labels, k=5)
    tests = np.concatenate([t for _, t in folds])
    assert len(folds) == 5 and sorted(tests) == list(range(100))
    assert all(np.bincount(labels[t]).tolist() == [16, 3, 1] for _, t in folds)


def test_ec57_metrics_by_hand():
    # aami5: N=0, S=1, V=2, F=3, Q=4
    y_true = np.array([0, 0, 0, 0, 1, 1, 2, 2, 3, 4, 4])
    y_pred = np.array([0, 0, 1, 4, 1, 0, 2, 0, 2, 0, 4])
    m = evaluate.ec57_metrics(y_true, y_pred)
    assert m["n"] == 9 and m["q_beats"] == 2  # Q beats are reported, not scored
    assert m["accuracy"] == pytest.approx(4 / 9)
    n, s, v, f = (m["per_class"][c] for c in "NSVF")
    # N: TP 2, FN 2 (one called S, one called Q), FP 2 (an S and a V called N), TN 3
    assert (n["tp"], n["fn"], n["fp"], n["tn"]) == (2, 2, 2, 3)
    assert (n["se"], n["ppv"], n["fpr"]) == pytest.approx((0.5, 0.5, 0.4))
    assert (s["se"], s["ppv"]) == pytest.approx((0.5, 0.5))
    assert (v["se"], v["ppv"], v["fpr"]) == pytest.approx((0.5, 0.5, 1 / 7))
    assert f["se"] == 0.0 and np.isnan(f["ppv"])


def _table(records):
    import pandas as pd

    return pd.DataFrame({"record": [r for r, n in records for _ in range(n)]})


def test_interpatient_split_is_ds1_to_ds2_with_validation_patients():
    from ecgutils.config import DS1, DS1_VALIDATION, DS2, PACED_RECORDS

    assert len(DS1) == len(DS2) == 22 and not set(DS1) & set(DS2)
    assert set(DS1_VALIDATION) <= set(DS1)
    assert len(set(DS1 + DS2 + PACED_RECORDS)) == 48
    beats = _table([("101", 4), ("119", 3), ("100", 5), ("102", 2)])
    labels = np.array([0, 0, 1, -1, 0, 2, 2, 0, 0, 1, 0, 0, 0, 0])
    split = evaluate.interpatient_split(beats, labels)
    assert split["train"].tolist() == [0, 1, 2]  # 101 minus its unlabelled beat
    assert split["val"].tolist() == [4, 5, 6]  # 119: a validation patient of DS1
    assert split["test"].tolist() == [7, 8, 9, 10, 11]  # 100 (DS2); paced 102 nowhere
    # without any validation patient, validation beats still come from DS1 only
    beats = _table([("101", 20), ("100", 5)])
    split = evaluate.interpatient_split(beats, np.zeros(25, dtype=int))
    assert set(split["val"]) | set(split["train"]) == set(range(20))
    assert len(split["val"]) == 2 and split["test"].tolist() == list(range(20, 25))
    with pytest.raises(ValueError, match="DS1 and DS2"):
        evaluate.interpatient_split(_table([("101", 3)]), np.zeros(3, dtype=int))


def test_patient_folds_never_share_a_record():
    records = [("100", 30), ("101", 30), ("103", 20), ("105", 25), ("106", 10), ("107", 9)]
    beats = _table(records)
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, len(beats))
    folds = evaluate.patient_kfold_splits(beats, labels, k=3)
    rec = beats["record"].to_numpy()
    seen = []
    for train, test in folds:
        assert not set(rec[train]) & set(rec[test])
        seen += list(test)
    assert sorted(seen) == list(np.flatnonzero(rec != "107"))  # paced 107 left out, rest once
    with pytest.raises(ValueError, match="records"):
        evaluate.patient_kfold_splits(beats, labels, k=6)


def test_ec57_by_hand_q_not_scored_and_table():
    # N=0, S=1, V=2, F=3, Q=4
    y_true = np.array([0, 0, 0, 0, 1, 1, 2, 2, 3, 4])
    y_pred = np.array([0, 0, 1, 2, 1, 0, 2, 4, 2, 0])
    ec = evaluate.ec57_metrics(y_true, y_pred)
    assert ec["n"] == 9 and ec["q_beats"] == 1
    assert ec["accuracy"] == pytest.approx(4 / 9)
    s, v = ec["per_class"]["S"], ec["per_class"]["V"]
    assert (s["tp"], s["fn"], s["fp"], s["tn"]) == (1, 1, 1, 6)
    assert (v["se"], v["ppv"], v["fpr"]) == pytest.approx((1 / 2, 1 / 3, 2 / 7))
    table = evaluate.ec57_table(ec)
    assert list(table.index) == ["N", "S", "V", "F", "accuracy"]
    assert table.loc["S", "+P (%)"] == pytest.approx(50.0) and table.loc["F", "beats"] == 1
    assert table.attrs["accuracy"] == pytest.approx(400 / 9)


def test_literature_table_holds_the_cited_results():
    lit = evaluate.literature_table()
    assert len(lit) == 4 and lit["reference"].str.len().min() > 10
    garcia = lit.loc[[m for m in lit.index if m.startswith("Garcia")][0]]
    assert (garcia["S +P"], garcia["V Se"], garcia["accuracy"]) == (53, 87.3, 92.4)


def test_per_record_table_by_hand():
    records = np.array(["100"] * 4 + ["232"] * 4)
    y_true = np.array([0, 0, 1, 2, 1, 1, 1, 0])
    y_pred = np.array([0, 1, 1, 2, 0, 0, 1, 0])
    t = evaluate.per_record_table(records, y_true, y_pred)
    assert list(t.index) == ["232", "100"]  # worst first
    assert t.loc["100", "accuracy (%)"] == pytest.approx(75.0)
    assert t.loc["100", "false S"] == 1 and t.loc["100", "V Se (%)"] == pytest.approx(100)
    assert t.loc["232", "S Se (%)"] == pytest.approx(100 / 3) and np.isnan(t.loc["232", "V Se (%)"])


def test_validation_split_stratifies_when_it_can():
    labels = np.array([0] * 40 + [1] * 10 + [2] * 1)
    idx = np.arange(50)  # classes 0 and 1 only: stratified
    train, val = evaluate.validation_split(idx, labels, 0.2, seed=0)
    assert len(val) == 10 and (labels[val] == 1).sum() == 2
    assert np.all(np.diff(train) > 0) and not set(train) & set(val)
    train, val = evaluate.validation_split(np.arange(51), labels, 0.2, seed=0)  # one beat of 2
    assert len(train) + len(val) == 51


def test_rates_from_confusion_agree_with_scikit_learn():
    """Chapter 07 computes Se, +P and F1 from the confusion matrix itself: the same numbers as
    scikit-learn's, also for a class never predicted and a class absent from the truth."""
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    from ecgutils.evaluate import rates_from_confusion

    rng = np.random.default_rng(1)
    y_true = rng.choice(5, 400, p=[0.6, 0.2, 0.1, 0.1, 0.0])
    y_pred = np.where(rng.random(400) < 0.8, y_true, rng.choice([0, 1, 3], 400))
    y_pred[y_pred == 2] = 0  # class 2 is never predicted
    cm = confusion_matrix(y_true, y_pred, labels=range(5))
    rates = rates_from_confusion(cm)
    ppv, se, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=range(5), zero_division=0
    )
    np.testing.assert_allclose(rates["se"], se)
    np.testing.assert_allclose(rates["ppv"], ppv)
    np.testing.assert_allclose(rates["f1"], f1)
    np.testing.assert_array_equal(rates["support"], support)
    assert rates["ppv"][2] == rates["se"][2] == 0 and rates["se"][4] == 0  # never called; absent
    tn = cm.sum() - cm.sum(axis=0) - cm.sum(axis=1) + np.diag(cm)
    np.testing.assert_allclose(rates["sp"], tn / (tn + cm.sum(axis=0) - np.diag(cm)))


def test_brief_keeps_the_columns_a_chapter_discusses():
    import pandas as pd

    cols = [
        "accuracy (%)",
        "N Se (%)",
        "N +P (%)",
        "S Se (%)",
        "S +P (%)",
        "V Se (%)",
        "V +P (%)",
        "F Se (%)",
        "F +P (%)",
        "epochs",
        "minutes",
        "DS2 N Se (%)",
        "DS2 S Se (%)",
    ]
    table = pd.DataFrame([range(len(cols))], columns=cols, index=["a recipe"])
    short = evaluate.brief(table)
    assert list(short.columns) == [
        "accuracy (%)",
        "S Se (%)",
        "S +P (%)",
        "V Se (%)",
        "V +P (%)",
        "F Se (%)",
        "epochs",
        "DS2 S Se (%)",
    ]
    assert short.loc["a recipe", "DS2 S Se (%)"] == 12 and list(table.columns) == cols
