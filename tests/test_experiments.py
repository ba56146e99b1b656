"""ecgutils.experiments: the inter-patient recipe on the small 'tiny' profile (tests/conftest.py)
that checks plumbing, and the course's model. Cross-validation, the variants, the protocol
comparison and the ablation run as named experiments in the quick profile, each twice (the
second run must train nothing): tests/test_results.py."""

from __future__ import annotations

import pytest

from ecgutils import experiments, train


def _no_training(*args, **kwargs):
    raise AssertionError("this should have been read from the store")


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
