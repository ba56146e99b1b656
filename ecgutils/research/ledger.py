"""The DS2 ledger: every scoring of the inter-patient test set on record (issue 32).

DS2 (de Chazal 2004: 22 patients the models never saw) is the course's test of new patients. A
figure on it says something only if every choice behind it (features, weights, thresholds, epochs,
which of two recipes) was fixed before DS2 was read, on DS1's patient folds. So every command that
scores DS2 appends one row here (:func:`record`): date, commit, recipe and its parameters, whether
every choice was fixed on DS1 first (``chosen on DS1``: ``yes``, or ``no: why``), the EC57 figures
and the command. The file is shipped with the course (:data:`LEDGER`); a row is never edited.

Rows of the stored experiments (:mod:`ecgutils.research.registry`) are written when the
experiment runs (:func:`record_result`); ``bench interpatient`` and ``bench neighbourhood --ds2``
write their own. Profiles that do not hold all 22 DS2 records (``quick``) score a part of DS2 and
write nothing. A test fails when a DS2 figure a chapter or the README shows from a stored result
has no row here, and when a row built after DS2 was read is not marked so.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from ..config import DS2, Profile, get_profile
from ..deploy.release import code_commit

#: The ledger shipped with the course.
LEDGER = Path(__file__).resolve().parents[1] / "resources" / "results" / "ds2_ledger.csv"
#: Environment variable: another ledger file, or ``off`` (write nothing; the test suite sets it).
LEDGER_ENV = "ECG_DS2_LEDGER"
#: The EC57 figures of a row, %.
FIGURES = ("accuracy", "S Se", "S +P", "V Se", "V +P", "F Se", "F +P")
#: The ledger's columns.
COLUMNS = ("date", "commit", "recipe", "parameters", "chosen on DS1", *FIGURES, "command", "note")

#: Rows of stored experiments built after DS2 had been read, with why: (experiment, row) -> the
#: ``chosen on DS1`` entry (notebook 90 labels the same rows). Every other DS2 row of a stored
#: experiment was fixed on DS1 first.
_SELF_TRAINED_AFTER = (
    "no: the self-training rows were added after the RR distribution had failed on DS2"
)
NOT_CHOSEN_ON_DS1: dict[tuple[str, str], str] = {
    ("feature_sets", "recipe, self-trained on each patient's unlabelled beats"): (
        _SELF_TRAINED_AFTER
    ),
    ("feature_sets", "+ P wave, MLII, self-trained"): _SELF_TRAINED_AFTER,
    ("feature_sets", "+ P wave, MLII, self-trained, 3 models before"): _SELF_TRAINED_AFTER,
    ("feature_sets", "recipe, self-trained, 3 models before"): _SELF_TRAINED_AFTER,
    ("feature_sets", "S from the P-wave trees, the rest from the recipe's (both self-trained, "
                     "3 models)"): "no: the joined decision came from the P-wave rows' DS2 figures",
}  # fmt: skip
#: Rows of stored tables that are published figures set beside the course's, not scorings.
LITERATURE_ROWS = {("adaptive", "de Chazal & Reilly 2006, first 5 min labelled")}
#: Experiments of another protocol: every row but the first (the inter-patient one) reads labels
#: of the DS2 patients by design.
ADAPTIVE = {"adaptive": "no: patient-adaptive protocol (labelled minutes of each DS2 patient)"}

#: Stored experiments whose tables hold DS2 figures, and how their columns are named: the
#: column prefix of the DS2 figures ("" when the whole table is DS1 -> DS2). ``protocols``
#: holds one DS2 row among other protocols: :data:`PROTOCOL_ROW`.
DS2_TABLES = {
    "ablation": "", "recipes": "", "selftraining": "", "adaptive": "",
    "feature_sets": "DS2 ", "baselines": "DS2 ", "protocols": "", "transfer": "DS2 ",
    "adversarial": "DS2 ",
}  # fmt: skip
#: The DS1 -> DS2 row of the ``protocols`` experiment.
PROTOCOL_ROW = "DS1 -> DS2 (de Chazal)"


def ledger_path() -> Path | None:
    """Where :func:`record` writes: ``$ECG_DS2_LEDGER``, else :data:`LEDGER`; None when off."""
    chosen = os.environ.get(LEDGER_ENV, "")
    if chosen.lower() == "off":
        return None
    return Path(chosen) if chosen else LEDGER


def covers_ds2(profile: Profile | str | None) -> bool:
    """Whether a profile scores all of DS2 (its rows belong in the ledger)."""
    return set(DS2) <= set(get_profile(profile).records)


def figures_from_ec57(ec: Mapping) -> dict[str, float]:
    """The ledger's figures (%) of :func:`ecgutils.evaluate.ec57_metrics`'s answer."""
    pc = ec["per_class"]
    out = {"accuracy": 100 * ec["accuracy"]}
    for c in "SVF":
        out[f"{c} Se"], out[f"{c} +P"] = 100 * pc[c]["se"], 100 * pc[c]["ppv"]
    return {k: (None if v != v else round(float(v), 2)) for k, v in out.items()}


def figures_from_row(row: Mapping, prefix: str = "") -> dict[str, float | None]:
    """The ledger's figures of a stored table's row (columns ``{prefix}accuracy (%)``, ...)."""
    out = {}
    for f in FIGURES:
        v = row.get(f"{prefix}{f} (%)")
        out[f] = None if v is None or pd.isna(v) else round(float(v), 2)
    return out


def record(
    recipe: str,
    figures: Mapping[str, float | None],
    *,
    command: str,
    chosen_on_ds1: str = "yes",
    parameters: Mapping | None = None,
    note: str = "",
    date: str | None = None,
    commit: str | None = None,
) -> dict | None:
    """Append one scoring of DS2 to the ledger (:func:`ledger_path`); returns the row, or None
    when the ledger is off.

    ``chosen_on_ds1``: ``"yes"`` when every choice behind the figures was fixed on DS1 before
    this scoring, else ``"no: "`` and why."""
    if not (chosen_on_ds1 == "yes" or chosen_on_ds1.startswith("no: ")):
        raise ValueError(f"chosen_on_ds1 is 'yes' or 'no: <why>', not {chosen_on_ds1!r}.")
    path = ledger_path()
    if path is None:
        return None
    row = {
        "date": date or datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": commit or code_commit(),
        "recipe": recipe,
        "parameters": json.dumps(dict(parameters or {}), sort_keys=True, default=str),
        "chosen on DS1": chosen_on_ds1,
        **{f: figures.get(f) for f in FIGURES},
        "command": command,
        "note": note,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    new = not path.exists() or path.stat().st_size == 0
    if not new:
        with open(path, "rb") as f:
            header = f.readline().decode("utf-8").rstrip("\r\n")
            f.seek(-1, os.SEEK_END)
            ends_with_newline = f.read(1) == b"\n"
        if header != ",".join(COLUMNS):
            raise ValueError(
                f"{path} does not start with the ledger's columns ({', '.join(COLUMNS)}): it was "
                "written by another version or edited; append nothing until it is mended."
            )
        if not ends_with_newline:  # a hand edit dropped it: the row would join the last one
            with open(path, "a", encoding="utf-8") as f:
                f.write("\n")
    frame = pd.DataFrame([row], columns=list(COLUMNS))
    frame.to_csv(path, mode="a", header=new, index=False)
    return row


def read_ledger(path: str | os.PathLike | None = None) -> pd.DataFrame:
    """The ledger as a table (default: where :func:`record` writes, :func:`ledger_path`; empty,
    with its columns, when there is none yet)."""
    path = Path(path) if path is not None else ledger_path() or LEDGER
    if not path.exists():
        return pd.DataFrame(columns=list(COLUMNS))
    return pd.read_csv(path, dtype={"commit": str, "note": str}, keep_default_na=False,
                       na_values={f: [""] for f in FIGURES})  # fmt: skip


def result_rows(name: str, tables: Mapping[str, pd.DataFrame]) -> list[tuple[str, dict, str]]:
    """The DS2 rows of a stored experiment's tables: (row name, figures, chosen on DS1)."""
    if name not in DS2_TABLES:
        return []
    table, prefix = tables["table"], DS2_TABLES[name]
    rows = []
    for i, (label, row) in enumerate(table.iterrows()):
        if name == "protocols" and label != PROTOCOL_ROW or (name, str(label)) in LITERATURE_ROWS:
            continue
        chosen = NOT_CHOSEN_ON_DS1.get((name, str(label)), "yes")
        if name in ADAPTIVE and i > 0:
            chosen = ADAPTIVE[name]
        figures = figures_from_row(row, prefix)
        if all(v is None for v in figures.values()):  # a row DS2 was not read for
            continue
        rows.append((str(label), figures, chosen))
    return rows


def record_result(
    name: str, tables: Mapping[str, pd.DataFrame], provenance: Mapping, profile: Profile
) -> int:
    """:func:`record` every DS2 row of an experiment's tables, computed on ``profile`` (when it
    holds all of DS2); returns how many rows were written."""
    if not covers_ds2(profile):
        return 0
    n = 0
    for label, figures, chosen in result_rows(name, tables):
        written = record(
            f"{name}: {label}", figures, command=provenance["command"], chosen_on_ds1=chosen,
            parameters=provenance.get("parameters"), date=provenance.get("date"),
            commit=provenance.get("commit"),
        )  # fmt: skip
        n += written is not None
    return n


def has_row(recipe: str, figures: Mapping[str, float | None], ledger: pd.DataFrame) -> bool:
    """Whether ``ledger`` holds ``recipe`` with these figures (to the hundredth)."""
    rows = ledger[ledger["recipe"] == recipe]
    for _, row in rows.iterrows():
        if all(_same(row[f], figures.get(f)) for f in FIGURES):
            return True
    return False


def _same(a, b) -> bool:
    missing = a is None or pd.isna(a), b is None or pd.isna(b)
    if any(missing):
        return all(missing)
    return abs(float(a) - float(b)) < 0.006


def f1(se: float, ppv: float) -> float:
    """The harmonic mean of a sensitivity and a positive predictivity (0 when both are 0), in the
    unit they are given in (fractions or %): what the course compares models on, per class."""
    return 0.0 if se + ppv == 0 else 2 * se * ppv / (se + ppv)


#: The ledger's rows of the course's trees, as trained and self-trained, their card and their
#: reading through deployment (recipe prefixes): what a CNN for new patients must beat.
TREES_RECIPES = (
    "recipes: trees",
    "selftraining: trees",
    "card of gradient-boosted trees",
    "deployment: the trees",
)


def trees_to_beat(table: pd.DataFrame | None = None) -> dict[str, tuple[float, str]]:
    """The best S F1 and V F1 (%) any of the trees' DS2 rows fixed on DS1 reached
    (:data:`TREES_RECIPES`), each with its recipe: ``{"S": (f1, recipe), "V": (f1, recipe)}``.

    The CNN replaces the trees for new patients only if its own row, chosen on DS1, beats both
    (issue 32): the trees as trained, self-trained and as deployment reads a record all count.
    """
    table = read_ledger(LEDGER) if table is None else table
    fixed = table[(table["chosen on DS1"] == "yes")
                  & table["recipe"].str.startswith(TREES_RECIPES)]  # fmt: skip
    best = {}
    for c in "SV":
        scores = [f1(r[f"{c} Se"], r[f"{c} +P"]) for _, r in fixed.iterrows()]
        if not scores:
            raise ValueError("The DS2 ledger holds no row of the trees fixed on DS1.")
        i = max(range(len(scores)), key=scores.__getitem__)
        best[c] = (scores[i], str(fixed["recipe"].iloc[i]))
    return best


def ledger_text(path: str | os.PathLike | None = None) -> str:
    """``python -m ecgutils experiment ledger``: the rows fixed on DS1 first, then the others
    apart (never beside the published rows), and how often each recipe read DS2."""
    path = Path(path) if path is not None else ledger_path() or LEDGER
    table = read_ledger(path)
    if table.empty:
        return "The DS2 ledger is empty."
    cols = ["date", "recipe", *FIGURES]
    show = table.assign(date=table["date"].str[:10])
    fixed = show[show["chosen on DS1"] == "yes"]
    after = show[show["chosen on DS1"] != "yes"]
    reads = table.groupby("recipe").size()
    with pd.option_context("display.width", 200, "display.max_colwidth", 70):
        lines = [
            f"DS2 ledger ({path}): {len(table)} scorings of DS2, {len(reads)} recipes, "
            f"{int((reads > 1).sum())} read more than once.",
            "Every choice fixed on DS1 first (the rows to compare with the literature):",
            fixed[cols].to_string(index=False) if len(fixed) else "  none",
            "Built after DS2 was read, or another protocol (never beside the published rows):",
            after[[*cols, "chosen on DS1"]].to_string(index=False) if len(after) else "  none",
        ]
    try:
        best = trees_to_beat(table)
    except ValueError:  # a ledger without the trees' rows
        return "\n".join(lines)
    lines.append("What a CNN for new patients must beat, the trees' best DS2 rows fixed on DS1:")
    lines += [f"  {c} F1 {f1_:.2f}% ({recipe})" for c, (f1_, recipe) in best.items()]
    return "\n".join(lines)


def card_rows(card: Mapping) -> list[tuple[str, dict]]:
    """The DS2 rows of a shipped model's card (its ``measured`` figures ``DS1 -> DS2``):
    (recipe, figures); a class the model does not have gives no figure."""
    rows = []
    for protocol, fig in card.get("measured", {}).items():
        if "DS1 -> DS2" not in protocol:
            continue
        per = fig.get("per class Se / +P", {})
        figures = {"accuracy": fig.get("accuracy")}
        for c in "SVF":
            se, ppv = per.get(c, (None, None))
            figures[f"{c} Se"], figures[f"{c} +P"] = se, ppv
        rows.append((f"card of {card['model']}: {protocol}", figures))
    return rows


def record_card(card: Mapping, chosen_on_ds1: str = "yes") -> int:
    """:func:`record` a shipped model card's DS2 rows (``ship-model``); returns how many."""
    n = 0
    for recipe, figures in card_rows(card):
        n += record(
            recipe, figures, command=card.get("command", "python -m ecgutils ship-model"),
            chosen_on_ds1=chosen_on_ds1, date=card.get("trained"), commit=card.get("commit"),
        ) is not None  # fmt: skip
    return n
