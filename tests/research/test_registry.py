"""Named experiments and their stored results (ecgutils.research.registry)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ecgutils.__main__ import main
from ecgutils.config import get_profile
from ecgutils.research import registry, studies

README = Path(__file__).resolve().parents[2] / "README.md"


def _fake_result(profile: str = "quick") -> registry.Result:
    table = pd.DataFrame(
        {
            "record": ["100", "207"],
            "detector": ["gqrs", "gqrs"],
            "refine": [True, False],
            "tp": [99, 98],
            "fp": [0, 1],
            "fn": [1, 2],
            "se": [0.99, 0.98],
        }
    )
    conf = pd.DataFrame(
        [[5, 1], [0, 3]],
        index=pd.Index(["N", "S"], name="true"),
        columns=pd.Index(["N", "S"], name="predicted"),
    )
    prov = {
        "experiment": "detectors", "profile": profile, "parameters": {"records": 2},
        "command": f"python -m ecgutils experiment run detectors --profile {profile}",
        "commit": "abc123", "data_fingerprint": "f00d", "date": "2026-11-26T10:00:00+00:00",
        "minutes": 12.34, "time_per_image_ms": 1.5, "store": {"built": ["model/x"], "reused": []},
        "tables": ["table", "confusion random split"],
    }  # fmt: skip
    return registry.Result("detectors", {"table": table, "confusion random split": conf}, prov)


def test_results_round_trip_with_their_provenance(tmp_path):
    written = _fake_result()
    path = registry.save(written, tmp_path)
    assert path == tmp_path / "quick" / "detectors.json"
    back = registry.load("detectors", "quick", out=tmp_path)
    pd.testing.assert_frame_equal(back.table, written.table)
    assert back.table["record"].tolist() == ["100", "207"]  # names, not numbers
    pd.testing.assert_frame_equal(  # CSV keeps the row labels' name, not the columns'
        back.tables["confusion random split"],
        written.tables["confusion random split"].rename_axis(columns=None),
    )
    text = back.describe()
    for part in ("experiment run detectors --profile quick", "abc123", "12.3 min", "1.50 ms/image",
                 "1 models or data sets computed", "f00d"):  # fmt: skip
        assert part in text
    assert registry.load("detectors", "standard", out=tmp_path) is None


def test_a_listed_table_that_is_missing_is_an_error(tmp_path):
    registry.save(_fake_result(), tmp_path)
    (tmp_path / "quick" / "detectors.confusion_random_split.csv").unlink()
    with pytest.raises(FileNotFoundError, match="experiment run detectors"):
        registry.load("detectors", "quick", out=tmp_path)


def test_unknown_experiment_names_the_choices():
    with pytest.raises(ValueError, match="choose one of detectors, variants"):
        registry.get_experiment("nope")
    assert main(["experiment", "run", "detectors", "nope", "--profile", "quick"]) == 1


def test_show_prefers_the_stored_table_and_can_skip(tmp_path, capsys, monkeypatch):
    registry.save(_fake_result(), tmp_path)
    monkeypatch.setattr(registry, "run", lambda *a, **k: pytest.fail("must not compute"))
    shown = registry.show("detectors", "quick", out=tmp_path)
    assert shown.table.shape == (2, 7)
    out = capsys.readouterr().out
    assert "stored result" in out and "RECOMPUTE = True" in out
    assert registry.show("variants", "quick", out=tmp_path, missing="skip") is None
    assert "experiment run variants --profile quick" in capsys.readouterr().out
    with pytest.raises(ValueError, match="missing must be"):
        registry.show("detectors", "quick", out=tmp_path, missing="never")


def test_show_recomputes_without_writing(tmp_path, monkeypatch):
    registry.save(_fake_result(), tmp_path)
    fresh = _fake_result()
    fresh.provenance["stored"] = False
    calls = []
    monkeypatch.setattr(registry, "run", lambda *a, **k: calls.append(k) or fresh)
    got = registry.show("detectors", "quick", out=tmp_path, recompute=True)
    assert got is fresh and calls == [{"write": False, "speed": False}]


def test_markdown_table():
    frame = pd.DataFrame(
        {"Se (%)": [99.861, 100.0], "n": [3, 4]}, index=pd.Index(["gqrs", "a|b"], name="detector")
    )
    assert registry.markdown_table(frame).splitlines() == [
        "| detector | Se (%) | n |", "|---|---|---|", "| gqrs | 99.86 | 3 |", "| a\\|b | 100 | 4 |",
    ]  # fmt: skip


def test_readme_blocks_are_written_from_the_files(tmp_path, capsys):
    registry.save(_fake_result("standard"), tmp_path)
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- experiment detectors standard -->\nold figures\n"
                      "<!-- /experiment -->\n<!-- experiment variants standard -->\n"
                      "<!-- /experiment -->\nend\n")  # fmt: skip
    args = ["experiment", "readme", "--readme", str(readme), "--out", str(tmp_path)]
    assert main([*args, "--check"]) == 1
    assert main(args) == 0
    text = readme.read_text()
    assert "old figures" not in text and "| gqrs / False |" in text  # summarised per detector
    assert "12.3 min at 1.50 ms/image" in text
    assert "Not computed yet for the standard profile" in text
    assert main([*args, "--check"]) == 0
    capsys.readouterr()


@pytest.mark.parametrize("page", registry.RESULT_PAGES)
def test_readme_agrees_with_the_stored_results(page):
    text = (README.parent / page).read_text()
    assert "<!-- experiment " in text, f"{page}'s result tables come from stored results"
    assert registry.render_readme(text) == text, (
        f"{page}'s experiment tables differ from ecgutils/resources/results: run "
        "`python -m ecgutils experiment readme`"
    )


def test_the_results_page_holds_every_stored_standard_table():
    """docs/results.md shows every experiment's standard table (the README only the headline)."""
    text = (README.parent / "docs" / "results.md").read_text()
    for name in registry.EXPERIMENTS:
        assert f"<!-- experiment {name} standard -->" in text, name


def test_the_shipped_model_is_the_standard_profiles_model():
    """Chapters 06, 07 and 10 read the shipped model instead of training the standard profile's:
    it must be that model, as the profile configures it today (else re-run ship-model)."""
    from ecgutils.dataset import dataset_params
    from ecgutils.deploy.predict import MODEL_DIR
    from ecgutils.train import config_from_profile

    meta = json.loads((MODEL_DIR / "metadata.json").read_text())
    cfg = json.loads(json.dumps(dataclasses.asdict(config_from_profile("standard"))))
    assert meta["profile"] == "standard" and meta["config"] == cfg
    assert meta["data_fingerprint"] == dataset_params("standard")["data_fingerprint"]
    card = json.loads((MODEL_DIR / "card.json").read_text())
    assert card["commit"] and card["time_per_image_ms"] > 0 and card["train minutes"] > 0


def _check_variants(table: pd.DataFrame, profile) -> None:
    assert {"accuracy (%)", "macro Se (%)", "Se A (%)", "minutes"} <= set(table.columns)
    assert (table["accuracy (%)"] > 90).all()  # one epoch on three records; always N: 72


def _check_cross_validation(table: pd.DataFrame, profile) -> None:
    assert list(table.index) == [1, 2, 3] and table["test beats"].sum() == 6736  # every beat once
    assert (table["accuracy"] > 0.9).all()


def _check_protocols(table: pd.DataFrame, profile) -> None:
    assert len(table) == 3 and table.index[1] == "patient-grouped 2-fold"
    acc = table["accuracy (%)"]  # one epoch on one DS1 patient transfers to nobody: only the
    assert acc.iloc[0] > 90 and ((acc >= 0) & (acc <= 100)).all()  # seen patients score


def _check_ablation(table: pd.DataFrame, profile) -> None:
    from ecgutils.research import studies

    assert list(table.index) == list(studies.ABLATION_STEPS)
    assert {"S Se (%)", "V +P (%)", "accuracy (%)", "epochs", "minutes"} <= set(table.columns)
    assert list(table["epochs"]) == [1] * 8 + [3]  # the recipe averages three networks
    # chosen steps and common overrides: read back from the store, nothing trained
    steps = {"images only": studies.ABLATION_STEPS["as published: beat images only"]}
    mine = studies.interpatient_ablation(profile, steps, epochs=1)
    assert list(mine.index) == ["images only"]
    assert mine.iloc[0]["accuracy (%)"] == table.iloc[0]["accuracy (%)"]


def _check_feature_sets(table: pd.DataFrame, profile) -> None:
    from ecgutils.research import features

    assert list(table.index) == list(features.FEATURE_SETS) + list(features.JOINED_SETS)
    d = table["features"].astype(int).tolist()  # the recipe's, then the groups beside them
    assert [x - d[0] for x in d] == [0, 7, 6, 13, 19, 27, 0, 6, 6, 0, 6]
    # the joined row calls S exactly where its first set does: the same S figures
    joined = table.loc[next(iter(features.JOINED_SETS))]
    s_set = table.loc[features.JOINED_SETS[next(iter(features.JOINED_SETS))][0]]
    cols = ["DS2 S Se (%)", "DS2 S +P (%)"]
    assert np.allclose(joined[cols].astype(float), s_set[cols].astype(float), equal_nan=True)
    assert table.filter(like="DS1 folds").isna().all().all()  # quick: one DS1 patient, no folds
    assert table["DS2 accuracy (%)"].between(50, 100).all()


_CHECKS = {
    "feature_sets": _check_feature_sets,
    "variants": _check_variants,
    "cross_validation": _check_cross_validation,
    "protocols": _check_protocols,
    "ablation": _check_ablation,
}


@pytest.mark.integration
@pytest.mark.parametrize("name", list(registry.EXPERIMENTS))
def test_every_experiment_runs_on_the_smallest_data(name, tiny, tmp_path):
    """Each experiment computes on the tests' tiny profile (the quick profile's records, 16x16
    images, one epoch: the smallest data that still runs its plumbing); a second run reads
    everything back from the store (builds nothing) and gets the same tables; the stored quick
    tables (the ones the notebooks show when the tests run them) have the shape the code
    produces today."""
    # its own seed: no other test builds (or retrains) these models while it runs
    mine = dataclasses.replace(tiny, name="tiny-experiments", seed=2019)
    fresh = registry.run(name, mine, out=tmp_path, speed=False)
    again = registry.load(name, mine, out=tmp_path)
    assert again.provenance["command"] == (
        f"python -m ecgutils experiment run {name} --profile tiny-experiments"
    )
    assert again.provenance["data_fingerprint"] and again.provenance["minutes"] >= 0
    _CHECKS.get(name, lambda table, profile: None)(fresh.table, mine)
    second = registry.run(name, mine, write=False, speed=False)
    assert second.provenance["store"]["built"] == [], "a second run must train nothing"
    for part, table in fresh.tables.items():  # (deployment's timings are measured, not stored)
        timings = [c for c in table.columns if c == "seconds" and name == "records"]
        pd.testing.assert_frame_equal(
            second.tables[part].drop(columns=timings), table.drop(columns=timings),
            check_dtype=False,
        )  # fmt: skip
    stored = registry.load(name, get_profile("quick"))
    assert stored is not None, f"no stored quick result of {name}: make experiments PROFILE=quick"
    assert list(stored.tables) == list(fresh.tables)
    for part, table in fresh.tables.items():
        assert list(stored.tables[part].columns) == list(table.columns), part
        assert list(map(str, stored.tables[part].index)) == list(map(str, table.index)), part


def test_variants_train_with_one_line_per_epoch(monkeypatch):
    """06's variants are several minutes each in the standard profile: each trains with Keras'
    one line per epoch, never silently."""
    from types import SimpleNamespace

    seen = []

    def fake_train(profile, verbose=1, **overrides):
        seen.append(verbose)
        metrics = {"accuracy": 1.0, "macro": {"se": 1.0, "ppv": 1.0}, "per_class": {}}
        return SimpleNamespace(metrics=metrics, metadata={"train_seconds": 60.0})

    monkeypatch.setattr(studies, "load_or_train", fake_train)
    table = registry._variants(get_profile("quick"))["table"]
    assert len(table) == len(seen) == 5
    assert set(seen) == {registry._EPOCH_LINES} and registry._EPOCH_LINES == 2


def test_cross_validation_folds_in_percent_with_mean_and_spread():
    table = pd.DataFrame(
        {"fold": [1, 2], "accuracy": [0.99, 0.97], "macro Se": [0.9, 0.8], "macro +P": [0.8, 0.8],
         "macro F1": [0.85, 0.8], "test beats": [10, 12]}
    )  # fmt: skip
    shown = registry.folds_in_percent(table)
    assert list(map(str, shown.index)) == ["1", "2", "mean", "std"] and shown.index.name == "fold"
    assert shown.loc["mean", "accuracy (%)"] == pytest.approx(98.0)
    assert shown.loc["std", "macro Se (%)"] == pytest.approx(7.0711, abs=1e-3)
    assert shown.loc["mean", "test beats"] == 11
