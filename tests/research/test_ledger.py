"""ecgutils.research.ledger: every DS2 scoring on record, and every shown DS2 figure in it."""

from __future__ import annotations

import pandas as pd
import pytest

from ecgutils.research import ledger, registry

EC = {
    "accuracy": 0.9686,
    "per_class": {
        "S": {"se": 0.6794, "ppv": 0.7661},
        "V": {"se": 0.9643, "ppv": 0.9162},
        "F": {"se": 0.1211, "ppv": float("nan")},
    },
}


@pytest.fixture
def own_ledger(tmp_path, monkeypatch):
    path = tmp_path / "ledger.csv"
    monkeypatch.setenv(ledger.LEDGER_ENV, str(path))
    return path


def test_a_scoring_appends_one_row_with_its_figures(own_ledger):
    figures = ledger.figures_from_ec57(EC)
    assert figures == {"accuracy": 96.86, "S Se": 67.94, "S +P": 76.61, "V Se": 96.43,
                       "V +P": 91.62, "F Se": 12.11, "F +P": None}  # fmt: skip
    ledger.record("trees", figures, command="python -m ecgutils bench interpatient")
    ledger.record("trees", figures, command="again", chosen_on_ds1="no: tuned on DS2")
    table = ledger.read_ledger(own_ledger)
    assert list(table.columns) == list(ledger.COLUMNS) and len(table) == 2
    assert table.loc[0, "V +P"] == pytest.approx(91.62) and pd.isna(table.loc[0, "F +P"])
    assert list(table["chosen on DS1"]) == ["yes", "no: tuned on DS2"]
    assert ledger.has_row("trees", figures, table)
    assert not ledger.has_row("trees", {**figures, "S Se": 70.0}, table)
    text = ledger.ledger_text(own_ledger)
    assert "2 scorings of DS2, 1 recipes, 1 read more than once" in text
    assert text.index("tuned on DS2") > text.index("Built after DS2 was read")


def test_the_ledger_can_be_off_and_refuses_a_vague_answer(monkeypatch, tmp_path):
    monkeypatch.setenv(ledger.LEDGER_ENV, "off")
    assert ledger.record("x", {}, command="c") is None
    monkeypatch.setenv(ledger.LEDGER_ENV, str(tmp_path / "l.csv"))
    with pytest.raises(ValueError, match="'yes' or 'no: <why>'"):
        ledger.record("x", {}, command="c", chosen_on_ds1="maybe")


def test_only_profiles_that_hold_all_of_ds2_write():
    assert ledger.covers_ds2("standard") and not ledger.covers_ds2("quick")


def test_every_ds2_figure_of_the_stored_results_has_its_ledger_row():
    """What the chapters and the README show of DS2 comes from these stored tables: each of
    their DS2 rows must be on record, marked as it was chosen."""
    held = ledger.read_ledger()
    missing, wrong = [], []
    for name in ledger.DS2_TABLES:
        stored = registry.load(name, "standard")
        assert stored is not None, f"no stored {name} result"
        for label, figures, chosen in ledger.result_rows(name, stored.tables):
            recipe = f"{name}: {label}"
            rows = held[held["recipe"] == recipe]
            if not ledger.has_row(recipe, figures, held):
                missing.append(recipe)
            elif chosen != "yes" and (rows["chosen on DS1"] == "yes").any():
                wrong.append(recipe)
    assert not missing, (
        f"DS2 figures shown without a ledger row: {missing}; `python -m ecgutils experiment "
        "ledger --backfill` writes them from the stored results"
    )
    assert not wrong, f"rows built after DS2 was read, marked as chosen on DS1: {wrong}"


def test_post_hoc_rows_are_named_in_the_stored_tables():
    """A post-hoc label that no longer names a row of its table would silently mark nothing."""
    for (name, label), _ in ledger.NOT_CHOSEN_ON_DS1.items():
        assert label in registry.load(name, "standard").tables["table"].index, (name, label)


def test_the_shipped_cards_new_patient_figures_have_their_ledger_rows():
    """The README shows the cards' DS1 -> DS2 figures: each on record."""
    import json

    from ecgutils.deploy.models import MODEL_DIR, TREES_DIR

    held = ledger.read_ledger()
    for folder in (TREES_DIR, MODEL_DIR):
        card = json.loads((folder / "card.json").read_text())
        rows = ledger.card_rows(card)
        assert rows, f"{folder.name}'s card states no DS1 -> DS2 figure"
        for recipe, figures in rows:
            assert ledger.has_row(recipe, figures, held), (
                f"{recipe} has no ledger row: `python -m ecgutils experiment ledger --backfill`"
            )


def test_a_ledger_of_other_columns_is_refused_and_a_lost_newline_mended(own_ledger):
    own_ledger.write_text("date,recipe\n2026-01-01,x\n")
    with pytest.raises(ValueError, match="does not start with the ledger's columns"):
        ledger.record("y", {}, command="c")
    own_ledger.unlink()
    ledger.record("a", {}, command="c")
    own_ledger.write_text(own_ledger.read_text().rstrip("\n"))  # a hand edit
    ledger.record("b", {}, command="c")
    assert list(ledger.read_ledger()["recipe"]) == ["a", "b"]  # reads where record writes


def test_an_experiment_writes_its_ds2_rows_only_on_a_profile_that_holds_ds2(own_ledger):
    from ecgutils.config import DS2, Profile

    tables = {"table": registry.load("recipes", "standard").tables["table"]}
    provenance = {"command": "python -m ecgutils experiment run recipes", "date": "2026-12-03"}
    small = Profile(name="small", description="a part of DS2", records=DS2[:3], image_size=16)
    whole = Profile(name="whole", description="all of DS2", records=DS2, image_size=16)
    assert ledger.record_result("recipes", tables, provenance, small) == 0
    assert ledger.record_result("recipes", tables, provenance, whole) == len(tables["table"])
    assert list(ledger.read_ledger()["recipe"]) == [f"recipes: {r}" for r in tables["table"].index]


def test_the_trees_to_beat_are_their_best_rows_fixed_on_ds1():
    def row(recipe, chosen, s, v):
        return {"recipe": recipe, "chosen on DS1": chosen, "S Se": s[0], "S +P": s[1],
                "V Se": v[0], "V +P": v[1]}  # fmt: skip

    table = pd.DataFrame([
        row("recipes: trees", "yes", (70, 70), (90, 90)),
        row("selftraining: trees self-trained", "yes", (60, 100), (95, 95)),
        row("feature_sets: + P wave", "yes", (99, 99), (99, 99)),  # not the trees' recipe
        row("recipes: trees", "no: after DS2", (99, 99), (99, 99)),  # read after DS2
        row("transfer: CNN recipe", "yes", (99, 99), (99, 99)),
    ])  # fmt: skip
    best = ledger.trees_to_beat(table)
    assert best["S"] == (pytest.approx(75.0), "selftraining: trees self-trained")
    assert best["V"] == (pytest.approx(95.0), "selftraining: trees self-trained")
    assert ledger.f1(80, 60) == pytest.approx(2 * 80 * 60 / 140) and ledger.f1(0, 0) == 0
    # the shipped ledger: the trees' self-trained rows set the bar (issue 32)
    shipped = ledger.trees_to_beat()
    assert shipped["S"][0] > 75 and shipped["V"][0] > 94
    text = ledger.ledger_text()  # `experiment ledger` prints the line, then each figure
    line = text.index("What a CNN for new patients must beat")
    assert (
        f"S F1 {shipped['S'][0]:.2f}%" in text[line:]
        and f"V F1 {shipped['V'][0]:.2f}%" in text[line:]
    )
    with pytest.raises(ValueError, match="no row of the trees"):
        ledger.trees_to_beat(table.iloc[2:])
