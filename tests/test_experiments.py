"""ecgutils.experiments: cross-validation, variants, the inter-patient recipe, its ablation and
the protocol comparison, on the small 'tiny' profile (tests/conftest.py) that checks plumbing."""

from __future__ import annotations

import pandas as pd
import pytest

from ecgutils import experiments, train


def _no_training(*args, **kwargs):
    raise AssertionError("this should have been read from the store")


@pytest.mark.integration
def test_cross_validation_two_folds(tiny):
    folds = experiments.cross_validate(tiny, k=2)
    assert list(folds.index) == [1, 2] and folds["test beats"].sum() == 6736
    assert (folds["accuracy"] > 0.9).all()  # one epoch at 16x16; majority class N: 0.72


@pytest.mark.integration
def test_compare_variants_trains_each_once(tiny, monkeypatch):
    variants = {"weights": {"balance": "class_weight"}, "no RR": {"rr": False}}
    table = experiments.compare_variants(tiny, variants)
    assert list(table.index) == ["weights", "no RR"]
    assert {"accuracy (%)", "macro Se (%)", "Se A (%)", "minutes"} <= set(table.columns)
    assert (table["accuracy (%)"] > 90).all()  # always answering N: 72
    monkeypatch.setattr(train, "_train_and_save", _no_training)
    pd.testing.assert_frame_equal(experiments.compare_variants(tiny, variants), table)
    folders = {train.load_or_train(tiny, verbose=0, **v).folder for v in variants.values()}
    assert len(folders) == 2


@pytest.mark.integration
def test_interpatient_recipe_trains_on_ds1_and_tests_on_ds2(tiny):
    from ecgutils.config import DS1, DS2

    tm = train.load_or_train(tiny, verbose=0, **{**experiments.INTERPATIENT, "ensemble": 1})
    records = tm.dataset.beats["record"].astype(str).to_numpy()
    assert set(records[tm.split["train"]]) | set(records[tm.split["val"]]) == {"207"}
    assert set(records[tm.split["test"]]) == {"100"} and set(records) >= {"107"}
    assert set(records[tm.split["test"]]) <= set(DS2) and "207" in DS1
    assert tm.metadata["split_kind"] == "inter-patient DS1 -> DS2"
    ec = tm.metrics["ec57"]
    assert ec["n"] == len(tm.split["test"]) and set(ec["per_class"]) == {"N", "S", "V", "F"}
    image, feats = tm.model.inputs
    assert tuple(image.shape[1:]) == (16, 16, 2) and feats.shape[1] == 11
    with pytest.raises(ValueError, match="not classes of aami5"):
        train.load_or_train(
            tiny, verbose=0, **{**experiments.INTERPATIENT, "ignore_classes": ("X",)}
        )


@pytest.mark.integration
def test_protocol_comparison_and_ablation(tiny, monkeypatch):
    table = experiments.protocol_comparison(tiny, k=2)
    assert len(table) == 3 and list(table.columns)[0] == "accuracy (%)"
    assert table.index[1] == "patient-grouped 2-fold"
    acc = table["accuracy (%)"]  # one epoch on one DS1 patient transfers to nobody: only the
    assert acc.iloc[0] > 90 and (acc >= 0).all() and (acc <= 100).all()  # seen patients score
    monkeypatch.setattr(experiments, "cross_validate", _no_training)
    again = experiments.protocol_comparison(tiny, k=2)
    pd.testing.assert_frame_equal(again, table, check_dtype=False)
    steps = {"images only": experiments.ABLATION_STEPS["as published: beat images only"], "all": {}}
    ablation = experiments.interpatient_ablation(tiny, steps, ensemble=1)
    assert list(ablation.index) == ["images only", "all"]
    assert {"S Se (%)", "V +P (%)", "accuracy (%)", "minutes"} <= set(ablation.columns)
    assert (ablation["epochs"] == 1).all()


def test_recipe_tables_cannot_be_changed_by_accident():
    with pytest.raises(TypeError):
        experiments.INTERPATIENT["ensemble"] = 1
    with pytest.raises(TypeError):
        experiments.ABLATION_STEPS["+ rhythm irregularity"]["rhythm"] = False
    with pytest.raises(TypeError):
        experiments.ABLATION_STEPS["new step"] = {}


@pytest.mark.integration
def test_course_model_is_the_profiles_model_where_nothing_is_shipped(quick_trained, monkeypatch):
    monkeypatch.setattr(train, "_train_and_save", _no_training)
    got = experiments.course_model("quick", verbose=0)
    assert got.folder == quick_trained.folder and got.metrics == quick_trained.metrics


@pytest.mark.integration
def test_course_model_reads_the_shipped_model_only_as_configured_now(
    quick_trained, tmp_path, monkeypatch, capsys
):
    """A model shipped for the profile is used when its configuration and data are the
    profile's today; a changed setting trains the profile's own, saying why."""
    import json
    import shutil

    folder = tmp_path / "model"
    shutil.copytree(quick_trained.folder, folder)
    (folder / "card.json").write_text(json.dumps({
        "command": "python -m ecgutils ship-model --profile quick", "commit": "abc",
        "trained": "2026-11-26T00:00:00", "train minutes": 0.2, "time_per_image_ms": 1.5,
    }))  # fmt: skip
    monkeypatch.setattr(experiments, "MODEL_DIR", folder)
    monkeypatch.setattr(train, "_train_and_save", _no_training)
    got = experiments.course_model("quick", verbose=0)
    assert got.folder == folder and got.metrics == quick_trained.metrics
    assert list(got.split["test"]) == list(quick_trained.split["test"])
    assert "The course's shipped model" in capsys.readouterr().out
    meta = json.loads((folder / "metadata.json").read_text())
    meta["config"]["epochs"] += 1
    (folder / "metadata.json").write_text(json.dumps(meta))
    got = experiments.course_model("quick", verbose=1)
    assert got.folder == quick_trained.folder
    assert "other settings (epochs)" in capsys.readouterr().out
