"""ecgutils.research.adaptive: the trees' class-weight exponent on DS1 folds, the CNN recipe
against the trees, and the patient-adaptive protocol."""

import numpy as np
import pytest

from ecgutils import trees
from ecgutils.config import DS2, MITDB_FS
from ecgutils.dataset import build_dataset
from ecgutils.research import adaptive
from ecgutils.research.bench import bench_adaptive


@pytest.mark.integration
def test_balance_power_chosen_on_patient_folds(mitdb_ready):
    table = adaptive.choose_balance_power(
        "quick", (0.0, 1.0), k=2, records=("100", "207"), max_iter=40
    )
    assert list(table.index) == [0.0, 1.0] and table.index.name == "balance power"
    assert {"S Se (%)", "V +P (%)", "score"} <= set(table.columns)
    assert ((table["score"] >= 0) & (table["score"] <= 1)).all()
    with pytest.raises(ValueError, match="2 patient folds need 2 or more records"):
        adaptive.choose_balance_power("quick", (0.0,), k=2)  # quick holds one DS1 record


@pytest.mark.integration
def test_recipe_comparison_scores_the_same_ds2_beats(tiny):
    table = adaptive.recipe_comparison(tiny, trees={"n_models": 1, "max_iter": 40}, ensemble=1)
    assert list(table.index) == ["CNN recipe", "trees", "CNN and trees averaged"]
    tt = trees.load_or_train_trees(tiny, n_models=1, max_iter=40)
    assert table.loc["trees", "accuracy (%)"] == pytest.approx(100 * tt.metrics["ec57"]["accuracy"])
    assert ((table["accuracy (%)"] > 0) & (table["accuracy (%)"] <= 100)).all()


@pytest.mark.integration
def test_patient_adaptive_protocol_labels_only_the_first_minutes(mitdb_ready, monkeypatch):
    """The patient-adaptive protocol trains on DS1 and the first minutes of each DS2 record,
    scores only what comes after them, and reads back from the store without training."""
    res = adaptive.patient_adaptive_trees("quick", minutes=5.0, max_iter=40, progress=False)
    ds = build_dataset("quick", rule="fixed", scale="patient", progress=False)
    labels, beats = ds.labels("aami5"), ds.beats
    in_ds2 = beats["record"].astype(str).isin(DS2).to_numpy() & (labels >= 0)
    early = beats["r"].to_numpy() < 5 * 60 * MITDB_FS
    assert len(res.labels) == res.metadata["scored beats"] == int((in_ds2 & ~early).sum())
    assert set(res.records) <= set(DS2) and res.probabilities.shape == (len(res.labels), 5)
    np.testing.assert_allclose(res.probabilities.sum(axis=1), 1.0, rtol=1e-6)
    q = list(res.metadata["labelled beats"]["100"]).index("Q")
    labelled = sum(res.metadata["labelled beats"]["100"].values())
    assert labelled == int((in_ds2 & early & (labels != q)).sum()) > 300  # 5 min of record 100
    ec = res.metrics["ec57"]
    assert ec["per_class"]["S"]["se"] >= 0.5  # 29 A beats after minute 5; its first 4 labelled
    monkeypatch.setattr(
        "sklearn.ensemble.HistGradientBoostingClassifier.fit",
        lambda *a, **k: pytest.fail("a stored result must not train"),
    )
    again = adaptive.patient_adaptive_trees("quick", minutes=5.0, max_iter=40, progress=False)
    np.testing.assert_array_equal(again.probabilities, res.probabilities)
    monkeypatch.undo()
    text = bench_adaptive("quick", minutes=2.0)
    assert "NOT inter-patient" in text and "first 2 minutes" in text
    assert "de Chazal & Reilly 2006" in text and "Overall accuracy:" in text


@pytest.mark.parametrize("minutes", [0, -5, 30, 45])
def test_patient_adaptive_protocol_asks_for_a_labelled_start_inside_the_record(minutes):
    """No labelled beat (0 or fewer minutes) or nothing left to score (30 or more) is refused
    before any data is read, with the flag to change."""
    with pytest.raises(ValueError, match=r"--minutes 5"):
        adaptive.patient_adaptive_trees("quick", minutes=minutes)
