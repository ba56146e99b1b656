"""ecgutils.deploy.release: the chapters' loader of the shipped CNN (course_model)."""

from __future__ import annotations

import pytest

from ecgutils import train
from ecgutils.deploy import release


def _no_training(*args, **kwargs):
    raise AssertionError("this should have been read from the store")


@pytest.mark.integration
def test_course_model_is_the_profiles_model_where_nothing_is_shipped(quick_trained, monkeypatch):
    monkeypatch.setattr(train, "_train_and_save", _no_training)
    got = release.course_model("quick", verbose=0)
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
    monkeypatch.setattr(release, "MODEL_DIR", folder)
    monkeypatch.setattr(train, "_train_and_save", _no_training)
    got = release.course_model("quick", verbose=0)
    assert got.folder == folder and got.metrics == quick_trained.metrics
    assert list(got.split["test"]) == list(quick_trained.split["test"])
    assert "The course's shipped model" in capsys.readouterr().out
    meta = json.loads((folder / "metadata.json").read_text())
    meta["config"]["epochs"] += 1
    (folder / "metadata.json").write_text(json.dumps(meta))
    got = release.course_model("quick", verbose=1)
    assert got.folder == quick_trained.folder
    assert "other settings (epochs)" in capsys.readouterr().out
