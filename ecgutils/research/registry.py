"""The experiment registry: named tables that take many models to make, stored and shown.

Each is computed by one command and shipped with the course.

An experiment trains or scores many models (chapter 02 scores five detectors on every record,
chapter 06 trains five variants, chapter 09 nine ablation steps...). Run on a laptop, that is an
hour a chapter. So each is computed once by

    python -m ecgutils experiment run NAME --profile standard      (or: make experiments)

which writes its tables (CSV) and their provenance (JSON: the command, the commit, the data
fingerprint, the date, the minutes, the machine's ``time_per_image``, which models were trained
and which found stored) under ``ecgutils/resources/results/<profile>/``. A chapter shows the stored
tables with :func:`show`, says how they were made and what they cost, and computes them again
when the reader sets its ``RECOMPUTE`` switch. The README's result tables are written from the
same files (:func:`render_readme`; a test fails when they disagree).
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pandas as pd

from .. import store
from ..config import DS1, MITDB_FS, PACED_RECORDS, Profile, get_profile
from ..dataset import build_dataset, dataset_params
from ..deploy.predict import DEFAULT_DETECTOR, DEFAULT_MODEL, MODEL_DIR, MODELS, TREES_DIR
from ..deploy.release import code_commit
from ..detect import DETECTORS, evaluate_detectors, summarize_detectors
from ..evaluate import (
    confusion_frame,
    ds1_only,
    ec57_metrics,
    ec57_row,
    patient_kfold_splits,
    per_record_table,
)
from ..selftraining import self_trained_trees
from ..train import load_or_train
from ..trees import ds1_fold_probabilities, load_or_train_trees
from . import ledger
from .adaptive import PATIENT_ADAPTIVE_LITERATURE, patient_adaptive_trees, recipe_comparison
from .adversarial import ADVERSARIAL
from .baselines import baseline_table
from .bench import records_table
from .features import FEATURE_SETS, JOINED_SETS, feature_set_table
from .studies import (
    ABLATION_STEPS,
    INTERPATIENT,
    compare_variants,
    cross_validate,
    interpatient_ablation,
    protocol_comparison,
)
from .transfer import (
    ADAPTATIONS,
    HEAD_GRID,
    adapted_interpatient,
    chosen_head_settings,
    ds1_fold_scores,
    head_grid,
    with_f1,
)

#: Where the stored results live (shipped with the package, committed to the repository).
RESULTS_DIR = Path(__file__).resolve().parents[1] / "resources" / "results"


@dataclass(frozen=True)
class Experiment:
    """One named experiment: what it computes, for which chapter, and how.

    ``compute(profile)`` returns its tables (``{"table": DataFrame, ...}``; ``table`` is the one
    a chapter shows first); ``parameters(profile)`` the settings it runs with, stated in the
    provenance.
    """

    name: str
    chapter: str
    title: str
    compute: Callable[[Profile], dict[str, pd.DataFrame]] = field(repr=False)
    parameters: Callable[[Profile], dict] = field(repr=False)


@dataclass
class Result:
    """The tables of an experiment and how they were made."""

    name: str
    tables: dict[str, pd.DataFrame]
    provenance: dict

    @property
    def table(self) -> pd.DataFrame:
        """The main table (``tables["table"]``)."""
        return self.tables["table"]

    def describe(self) -> str:
        """One paragraph: what, how, when, on which machine and at what cost."""
        p = self.provenance
        work = p.get("store", {})
        built, reused = len(work.get("built", [])), len(work.get("reused", []))
        cost = f"{p['minutes']:.1f} min" + (
            f" ({built} models or data sets computed, {reused} read from the store)"
            if built or reused
            else ""
        )
        speed = p.get("time_per_image_ms")
        speed_text = f" on a machine at {speed:.2f} ms/image" if speed else ""
        where = "stored result" if p.get("stored", True) else "computed now"
        return (
            f"{self.name} ({where}): `{p['command']}` at commit {p['commit']} on {p['date'][:10]}, "
            f"{cost}{speed_text} (models.time_per_image; scale by your machine's). "
            f"Data fingerprint {p['data_fingerprint']}."
        )


# --------------------------------------------------------------------------------------------
# The experiments


def _lesson_epochs(prof: Profile, cap: int) -> int:
    return min(prof.epochs, cap)


def _detectors(prof: Profile) -> dict[str, pd.DataFrame]:

    table = evaluate_detectors(prof.records)
    return {"table": table.reset_index(drop=True)}


def _detector_parameters(prof: Profile) -> dict:

    return {"detectors": list(DETECTORS), "records": len(prof.records), "window_ms": 150}


#: Keras' verbosity for the experiments that train many models: one line per epoch (2), so a
#: fold or a step of several minutes is never silent, in the notebook or a log.
_EPOCH_LINES = 2


def _variants(prof: Profile) -> dict[str, pd.DataFrame]:

    table = compare_variants(prof, epochs=_lesson_epochs(prof, 3), verbose=_EPOCH_LINES)
    table.index.name = "variant"
    return {"table": table}


def _cv_k(prof: Profile) -> int:
    """The paper's ten folds; three on three records or fewer (the quick profile, the tests')."""
    return 3 if len(prof.records) <= 3 else 10


def _cross_validation(prof: Profile) -> dict[str, pd.DataFrame]:

    return {"table": cross_validate(prof, k=_cv_k(prof), verbose=_EPOCH_LINES)}


def _protocol_k(prof: Profile) -> int:
    return min(4, len(set(prof.records) - set(PACED_RECORDS)))


def _protocols(prof: Profile) -> dict[str, pd.DataFrame]:

    epochs = _lesson_epochs(prof, 4)
    table = protocol_comparison(prof, k=_protocol_k(prof), epochs=epochs, verbose=_EPOCH_LINES)
    table.index.name = "protocol"
    # the random split's model was trained (and stored) by protocol_comparison: read it back
    random = load_or_train(prof, scheme="aami5", epochs=epochs, verbose=0)
    return {"table": table, "confusion random split": confusion_frame(random.metrics)}


def _ablation(prof: Profile) -> dict[str, pd.DataFrame]:

    table = interpatient_ablation(prof, verbose=_EPOCH_LINES)
    table.index.name = "step"
    return {"table": table}


def _recipes(prof: Profile) -> dict[str, pd.DataFrame]:

    table = recipe_comparison(prof)
    table.index.name = "model"
    return {"table": table}


def _adaptive(prof: Profile) -> dict[str, pd.DataFrame]:
    import numpy as np

    res = patient_adaptive_trees(prof)
    pred = res.probabilities.argmax(axis=1)
    # the inter-patient trees on the same beats (after each record's first minutes), for scale
    tt = load_or_train_trees(prof)
    records = tt.dataset.beats["record"].astype(str).to_numpy()[tt.split["test"]]
    early = (
        tt.dataset.beats["r"].to_numpy()[tt.split["test"]]
        < res.metadata["settings"]["minutes"] * 60 * MITDB_FS
    )
    inter = ec57_metrics(tt.dataset.labels("aami5")[tt.split["test"]][~early],
                         tt.probabilities[~early].argmax(axis=1))  # fmt: skip
    lit = PATIENT_ADAPTIVE_LITERATURE
    table = pd.DataFrame(
        {
            "trees, inter-patient (no DS2 label)": ec57_row(inter),
            "trees + the first 5 min labelled": ec57_row(res.metrics["ec57"]),
            "de Chazal & Reilly 2006, first 5 min labelled": {
                "S Se (%)": lit["S Se"],
                "S +P (%)": lit["S +P"],
                "V Se (%)": lit["V Se"],
                "V +P (%)": lit["V +P"],
            },
        }  # fmt: skip
    ).T
    table.index.name = "model"
    if not np.array_equal(records[~early], res.records):
        raise RuntimeError("The adaptive and inter-patient trees scored different beats.")
    per = per_record_table(res.records, res.labels, pred)
    return {"table": table, "per record": per}


def _selftraining(prof: Profile) -> dict[str, pd.DataFrame]:

    base = load_or_train_trees(prof)
    res = self_trained_trees(prof)
    table = pd.DataFrame(
        {
            "trees (DS1 only)": ec57_row(base.metrics["ec57"]),
            "trees self-trained on each patient's unlabelled beats": ec57_row(res.metrics["ec57"]),
        }
    ).T
    table.index.name = "model"
    before = per_record_table(res.records, res.labels, base.probabilities.argmax(axis=1))
    after = per_record_table(res.records, res.labels, res.probabilities.argmax(axis=1))
    cols = ["accuracy (%)", "S Se (%)", "false S", "V Se (%)", "false V"]
    per = (
        before[["beats", "S beats", "V beats"]]
        .join(before[cols].add_suffix(" before"))
        .join(after[cols].add_suffix(" after"))
    )
    return {"table": table, "per record": per.sort_index()}


def _feature_sets(prof: Profile) -> dict[str, pd.DataFrame]:

    return {
        "table": feature_set_table(prof, k=_feature_set_k(prof), max_iter=_feature_set_rounds(prof))
    }


def _feature_set_k(prof: Profile) -> int:

    return min(11, sum(r in DS1 for r in prof.records))


def _feature_set_rounds(prof: Profile) -> int:
    """Boosting rounds at most per tree model: the recipe's 300, 40 in the quick profile (its
    three records are a test of the code, and 14 models at 300 rounds take a minute there)."""
    return 40 if prof.name == "quick" else 300


def _feature_set_parameters(prof: Profile) -> dict:

    sets = {
        k: [*groups, *(["self-training"] if st else []), *([f"{n} models"] if n > 1 else [])]
        for k, (groups, st, n) in FEATURE_SETS.items()
    }
    joined = {k: {"S decided by": a, "the rest by": b} for k, (a, b) in JOINED_SETS.items()}
    return {
        "k": _feature_set_k(prof), "model": "one tree model per fold, or as many as the set says",
        "max_iter": _feature_set_rounds(prof), "sets": sets, "joined": joined,
    }  # fmt: skip


#: The CNN adapted to each new patient (:mod:`ecgutils.research.transfer`): the rows' names.
TRANSFER_ROWS = {
    "none": "CNN recipe, as trained on DS1",
    "batchnorm": "CNN recipe, batch norm on each patient's beats",
    "selftrain": "CNN recipe, self-trained on each patient's beats",
    "head": "CNN recipe, its head self-trained on each patient's beats",
}
#: Patient-grouped folds of DS1 that judge the adaptations (fewer DS1 records: no folds).
TRANSFER_K = 4


def _transfer(
    prof: Profile,
    trainer: str = "plain",
    adaptations: tuple[str, ...] = ADAPTATIONS,
    rival: str | None = None,
) -> dict[str, pd.DataFrame]:
    """DS1 folds first, then DS2: the rules that pick the head's settings and the CNN for new
    patients were fixed before either was scored (the best S F1 + V F1 on the DS1 folds).
    ``trainer``: how the networks are trained (``transfer.TRAINERS``); ``adaptations``: which
    are tried, ``"head"`` last. ``rival``: a stored experiment of the same folds; a row whose
    S F1 + V F1 on the folds does not beat every one of its rows is not scored on DS2 (DS2 is
    read only for a candidate the DS1 folds would choose)."""
    folds = {}
    trees_row = {}
    grid = pd.DataFrame()
    head_settings: dict = {}
    plain = tuple(a for a in adaptations if a != "head")
    if len(set(prof.records) & set(DS1)) >= TRANSFER_K:
        scores = ds1_fold_scores(prof, k=TRANSFER_K, adaptations=plain, trainer=trainer,
                                 verbose=_EPOCH_LINES)  # fmt: skip
        probabilities = dict(scores["probabilities"])
        if "head" in adaptations:
            grid = head_grid(prof, k=TRANSFER_K, trainer=trainer, verbose=_EPOCH_LINES)
            head_settings = chosen_head_settings(grid)
            probabilities |= ds1_fold_scores(
                prof, k=TRANSFER_K, adaptations=("head",), settings=head_settings, trainer=trainer
            )["probabilities"]
        for a in adaptations:
            pred = probabilities[a].argmax(axis=1)
            folds[a] = with_f1(ec57_row(ec57_metrics(scores["labels"], pred)))
        # the course's trees on the same patient folds (its DS1 beats, in the same order)
        trees = ds1_fold_probabilities(prof, k=TRANSFER_K, seed=prof.seed)
        order = np.argsort(np.concatenate([t for _, t in _ds1_folds(prof)]))
        if not np.array_equal(trees["labels"], scores["labels"][order]):
            raise RuntimeError("The CNN's and the trees' DS1 folds scored different beats.")
        pred = trees["probabilities"].argmax(axis=1)
        trees_row = with_f1(ec57_row(ec57_metrics(trees["labels"], pred)))
    chosen = max(folds, key=lambda a: folds[a]["S F1 (%)"] + folds[a]["V F1 (%)"], default=None)
    bar = -np.inf  # the rival's best S F1 + V F1 on the same folds
    stored = load(rival, prof) if rival and folds else None
    if stored is not None:
        t = stored.table
        bar = float((t["DS1 folds S F1 (%)"] + t["DS1 folds V F1 (%)"]).max())
    rows = {}
    names = TRANSFER_ROWS if trainer == "plain" else ADVERSARIAL_ROWS
    for a in adaptations:
        settings = head_settings if a == "head" else None
        if a in folds and folds[a]["S F1 (%)"] + folds[a]["V F1 (%)"] <= bar:
            ds2 = dict.fromkeys(with_f1(ec57_row(_NO_EC57)), np.nan)  # DS2 not read
        else:
            ds2 = adapted_interpatient(prof, a, settings=settings, trainer=trainer,
                                       verbose=_EPOCH_LINES)["ec57"]  # fmt: skip
            ds2 = with_f1(ec57_row(ds2))
        rows[names[a]] = {
            "chosen on DS1 folds": "yes" if a == chosen else "no",
            **{f"DS1 folds {k}": v for k, v in folds.get(a, dict.fromkeys(ds2, np.nan)).items()},
            **{f"DS2 {k}": v for k, v in ds2.items()},
        }
    table = pd.DataFrame(rows).T
    table.index.name = "model"
    trees = pd.DataFrame({"trees (the course's recipe), same DS1 folds": trees_row}).T
    trees.index.name = "model"
    out = {"table": table, "trees on the folds": trees.add_prefix("DS1 folds ")}
    if len(grid):
        out["head settings on the DS1 folds"] = grid.assign(
            chosen=["yes" if dict(g) == head_settings else "no" for g in HEAD_GRID]
        )
    return out


#: An EC57 result of no beat: the columns of a row DS2 was not read for.
_NO_EC57 = ec57_metrics(np.zeros(0, np.int64), np.zeros(0, np.int64))
#: The CNN trained against a patient critic (:mod:`ecgutils.research.adversarial`): rows' names.
ADVERSARIAL_ROWS = {
    "none": "CNN recipe against a patient critic, as trained on DS1",
    "head": "CNN recipe against a patient critic, its head self-trained on each patient's beats",
}


def _ds1_folds(prof: Profile) -> list[tuple[np.ndarray, np.ndarray]]:
    """The patient folds of :func:`ds1_fold_scores` and :func:`ds1_fold_probabilities`."""
    ds = build_dataset(prof, rule="fixed", scale="patient", progress=False)
    labels = ds1_only(ds.beats, ds.labels("aami5"))
    return patient_kfold_splits(ds.beats, labels, TRANSFER_K, prof.seed)


def _baselines(prof: Profile) -> dict[str, pd.DataFrame]:

    table = baseline_table(prof)
    table.index.name = "model"
    return {"table": table}


def _records(prof: Profile) -> dict[str, pd.DataFrame]:

    return {"table": records_table(prof.records)}


def _records_parameters(prof: Profile) -> dict:

    card = json.loads((MODELS[DEFAULT_MODEL] / "card.json").read_text())
    return {
        "records": len(prof.records), "detector": DEFAULT_DETECTOR,
        "model": f"{DEFAULT_MODEL}: {card['model']}",
        "model trained": card["trained"], "match window (ms)": 150,
    }  # fmt: skip


def _ablation_parameters(prof: Profile) -> dict:

    return {
        "recipe": dict(INTERPATIENT),
        "steps": {k: dict(v) for k, v in ABLATION_STEPS.items()},
        "epochs": prof.epochs,
    }


_EXPERIMENTS = [
    Experiment(
        "detectors", "02", "Five R-peak detectors, with and without the T-wave check, per record",
        _detectors, _detector_parameters,
    ),
    Experiment(
        "variants", "06", "Balancing, crops and RR features: five variants of the compact CNN",
        _variants, lambda p: {"epochs": _lesson_epochs(p, 3), "split": "random beats, 20% test"},
    ),
    Experiment(
        "cross_validation", "07", "k-fold cross-validation of the profile's model (beat folds)",
        _cross_validation, lambda p: {"k": _cv_k(p), "groups": "beat", "epochs": p.epochs},
    ),
    Experiment(
        "protocols", "08", "One model graded three ways: random split, patient k-fold, DS1 -> DS2",
        _protocols,
        lambda p: {"k": _protocol_k(p), "epochs": _lesson_epochs(p, 4), "scheme": "aami5"},
    ),
    Experiment(
        "ablation", "09", "What makes the CNN hold up on new patients, one step at a time",
        _ablation, _ablation_parameters,
    ),
    Experiment(
        "recipes", "09", "The CNN recipe, the trees and their average on DS2 (EC57)",
        _recipes, lambda p: {"epochs": p.epochs, "split": "DS1 -> DS2"},
    ),
    Experiment(
        "selftraining", "09",
        "The trees self-trained on each DS2 patient's unlabelled beats (no DS2 label read)",
        _selftraining, lambda p: {"confidence": 0.9, "local_weight": 10.0, "split": "DS1 -> DS2"},
    ),
    Experiment(
        "transfer", "09",
        "The CNN adapted to each new patient's unlabelled beats: DS1 patient folds, then DS2",
        _transfer,
        lambda p: {"k": TRANSFER_K, "adaptations": list(ADAPTATIONS), "recipe": dict(INTERPATIENT),
                   "head grid": [dict(g) for g in HEAD_GRID],
                   "rule": "the best S F1 + V F1 on the DS1 folds, fixed before either was scored"},
    ),
    Experiment(
        "adversarial", "09",
        "The CNN trained against a patient critic (domain-adversarial), as trained and with its "
        "head self-trained: DS1 patient folds, then DS2",
        lambda p: _transfer(p, "adversarial", ("none", "head"), rival="transfer"),
        lambda p: {"k": TRANSFER_K, "adaptations": ["none", "head"], "recipe": dict(INTERPATIENT),
                   "critic": dict(ADVERSARIAL), "head grid": [dict(g) for g in HEAD_GRID],
                   "rule": "the best S F1 + V F1 on the DS1 folds, fixed before either was scored; "
                           "DS2 read only for a row that beats every row of 'transfer' there"},
    ),
    Experiment(
        "records", "10", "Every record through deployment: beats found, PVCs found and called V",
        _records, _records_parameters,
    ),
    Experiment(
        "baselines", "11", "1-NN, trees and a 1-D CNN on the waveform, hold-out and DS1 -> DS2",
        _baselines, lambda p: {"models": ["1-NN", "trees", "1-D CNN"]},
    ),
    Experiment(
        "feature_sets", "90",
        "Features tried for new patients: each set on DS1 patient folds, then on DS2 (trees)",
        _feature_sets, _feature_set_parameters,
    ),
    Experiment(
        "adaptive", "90",
        "The patient-adaptive protocol: the first 5 minutes of each DS2 record labelled and used",
        _adaptive,
        lambda p: {"minutes": 5.0, "local_weight": 10.0, "model": "trees, one per DS2 record"},
    ),
]  # fmt: skip
#: Every named experiment, by name, in chapter order.
EXPERIMENTS: Mapping[str, Experiment] = MappingProxyType({e.name: e for e in _EXPERIMENTS})


def get_experiment(name: str) -> Experiment:
    """The experiment called ``name`` (a clear error listing the names otherwise)."""
    try:
        return EXPERIMENTS[name]
    except KeyError:
        raise ValueError(
            f"Unknown experiment {name!r}; choose one of {', '.join(EXPERIMENTS)}."
        ) from None


# --------------------------------------------------------------------------------------------
# Running and storing


def _versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for lib in ("tensorflow", "keras", "scikit-learn", "numpy", "wfdb", "biosppy"):
        try:
            out[lib] = version(lib)
        except PackageNotFoundError:
            pass
    return out


def run(
    name: str,
    profile: Profile | str | None = None,
    *,
    write: bool = True,
    out: str | os.PathLike | None = None,
    speed: bool = True,
) -> Result:
    """Compute the experiment ``name`` on ``profile`` and (by default) store its tables.

    Parameters
    ----------
    write : bool
        Write the tables and provenance under ``out`` (default :data:`RESULTS_DIR`), replacing
        the stored ones atomically.
    speed : bool
        Measure ``models.machine_speed()`` first (a few seconds) for the provenance.
    """
    from ..models import machine_speed  # deferred: ecgutils.models loads TensorFlow

    exp = get_experiment(name)
    prof = get_profile(profile)

    ms = None
    if speed:
        ms = round(machine_speed(), 3)
    t0 = time.perf_counter()
    with store.track() as work:
        tables = exp.compute(prof)
    minutes = (time.perf_counter() - t0) / 60
    provenance = {
        "experiment": name,
        "title": exp.title,
        "chapter": exp.chapter,
        "profile": prof.name,
        "parameters": exp.parameters(prof),
        "command": f"python -m ecgutils experiment run {name} --profile {prof.name}",
        "commit": code_commit(),
        "data_fingerprint": dataset_params(prof)["data_fingerprint"],
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "minutes": round(minutes, 2),
        "time_per_image_ms": ms,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "versions": _versions(),
        "store": work,
        "tables": list(tables),
    }
    result = Result(name, tables, {**provenance, "stored": write})
    if write:
        save(result, out)
    ledger.record_result(name, tables, provenance, prof)  # every scoring of DS2, stored or not
    return result


def backfill_ledger(profile: Profile | str | None = "standard") -> int:
    """Write into the DS2 ledger the DS2 rows of the stored experiments it does not hold yet
    (their own date, commit and command, from their provenance); returns how many."""
    held, n = ledger.read_ledger(ledger.ledger_path()), 0
    for name in ledger.DS2_TABLES:
        stored = load(name, profile)
        if stored is None:
            continue
        for label, figures, chosen in ledger.result_rows(name, stored.tables):
            recipe = f"{name}: {label}"
            if ledger.has_row(recipe, figures, held):
                continue
            p = stored.provenance
            n += ledger.record(
                recipe, figures, command=p["command"], chosen_on_ds1=chosen,
                parameters=p.get("parameters"), date=p.get("date"), commit=p.get("commit"),
                note="written from the stored result",
            ) is not None  # fmt: skip
    for folder in (TREES_DIR, MODEL_DIR):  # the shipped models' cards (the README shows them)
        card = json.loads((folder / "card.json").read_text())
        for recipe, figures in ledger.card_rows(card):
            if not ledger.has_row(recipe, figures, held):
                n += ledger.record(
                    recipe, figures, command=card["command"], date=card.get("trained"),
                    commit=card.get("commit"), note="written from the card",
                ) is not None  # fmt: skip
    return n


def _folder(profile: str, out: str | os.PathLike | None) -> Path:
    return Path(out if out is not None else RESULTS_DIR) / profile


def _csv_name(name: str, part: str) -> str:
    return f"{name}.csv" if part == "table" else f"{name}.{part.replace(' ', '_')}.csv"


def save(result: Result, out: str | os.PathLike | None = None) -> Path:
    """Write ``result`` (tables as CSV, provenance as JSON) for its profile; returns the JSON."""
    folder = _folder(result.provenance["profile"], out)
    folder.mkdir(parents=True, exist_ok=True)
    for part, table in result.tables.items():
        with store.publish_file(folder / _csv_name(result.name, part)) as tmp:
            table.to_csv(tmp)
    prov = {k: v for k, v in result.provenance.items() if k != "stored"}
    path = folder / f"{result.name}.json"
    with store.publish_file(path) as tmp:
        tmp.write_text(json.dumps(prov, indent=1, ensure_ascii=False, default=str) + "\n")
    return path


def load(
    name: str, profile: Profile | str | None = None, *, out: str | os.PathLike | None = None
) -> Result | None:
    """The stored result of ``name`` for ``profile``, or None when none is stored."""
    get_experiment(name)
    prof = get_profile(profile)
    folder = _folder(prof.name, out)
    meta = folder / f"{name}.json"
    if not meta.exists():
        return None
    provenance = json.loads(meta.read_text())
    tables = {}
    for part in provenance["tables"]:
        path = folder / _csv_name(name, part)
        if not path.exists():
            raise FileNotFoundError(
                f"{path} is missing but {meta.name} lists it; run `{provenance['command']}` "
                "again to store the experiment whole."
            )
        tables[part] = _read_table(path)
    return Result(name, tables, provenance)


def _read_table(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path, index_col=0, dtype={"record": str})  # record names stay "100"
    if frame.index.name == "Unnamed: 0" or frame.index.name is None:
        frame.index.name = None
        if pd.api.types.is_integer_dtype(frame.index) and frame.index.equals(
            pd.RangeIndex(len(frame))
        ):
            frame = frame.reset_index(drop=True)
    return frame


def show(
    name: str,
    profile: Profile | str | None = None,
    *,
    recompute: bool = False,
    missing: str = "compute",
    out: str | os.PathLike | None = None,
) -> Result | None:
    """What a chapter calls: the stored result (printing how it was made), or a fresh one.

    Parameters
    ----------
    recompute : bool
        Compute the experiment here (its models come from the store when already trained)
        instead of reading the stored tables; nothing is written into the package.
    missing : {"compute", "skip"}
        With nothing stored for the profile: compute it, or return None (for experiments too
        long for class time; the message says which command makes them).
    """
    if missing not in ("compute", "skip"):
        raise ValueError(f"missing must be 'compute' or 'skip', got {missing!r}.")
    prof = get_profile(profile)
    stored = None if recompute else load(name, prof, out=out)
    if stored is not None:
        print(stored.describe())
        print("Set RECOMPUTE = True in the first cell to compute it here instead.")
        return stored
    command = f"python -m ecgutils experiment run {name} --profile {prof.name}"
    if not recompute:
        if missing == "skip":
            print(
                f"No stored result of {name!r} for the {prof.name} profile; `{command}` makes "
                "it (or set RECOMPUTE = True here)."
            )
            return None
        print(
            f"No stored result of {name!r} for the {prof.name} profile: computing it now "
            f"(`{command}` would store it).",
            file=sys.stdout,
        )
    result = run(name, prof, write=False, speed=False)
    print(result.describe())
    return result


# --------------------------------------------------------------------------------------------
# README tables


def shipped_model_table(folder: str | os.PathLike | None = None) -> str:
    """The Markdown the README shows for the shipped model: its card's figures and provenance."""

    card = json.loads((Path(folder or MODEL_DIR) / "card.json").read_text())
    rows = []
    for protocol, fig in card["measured"].items():
        per = ", ".join(
            f"{c} {se:.2f} / {ppv:.2f}" for c, (se, ppv) in fig["per class Se / +P"].items()
        )
        rows.append({"protocol": protocol, "accuracy (%)": fig["accuracy"],
                     "macro Se (%)": fig["macro sensitivity"], "test beats": fig["test beats"],
                     "per class Se / +P (%)": per})  # fmt: skip
    table = markdown_table(pd.DataFrame(rows).set_index("protocol"))
    speed = card.get("time_per_image_ms")
    line = (
        f"`{card['command']}`, commit {card.get('commit', 'unknown')}, trained "
        f"{card['trained'][:10]} in {card.get('train minutes', '?')} min"
        + (f" at {speed:.2f} ms/image" if speed else "")
        + f"; {card['model']}."
    )
    return table + "\n\n" + line


def readme_table(name: str, profile: str = "standard", *, out=None) -> str:
    """The Markdown the README shows for an experiment: its main table and one provenance line.

    ``name`` ``shipped_model`` is the shipped 8-class CNN's card, ``shipped_trees`` the shipped
    trees' (:func:`shipped_model_table`)."""
    if name == "shipped_model":
        return shipped_model_table()
    if name == "shipped_trees":
        return shipped_model_table(TREES_DIR)
    result = load(name, profile, out=out)
    if result is None:
        return (
            f"*Not computed yet for the {profile} profile: "
            f"`python -m ecgutils experiment run {name} --profile {profile}`.*"
        )
    table = result.table
    if name == "detectors":
        table = summarize_detectors(table)
    if name == "records":
        table = records_with_total(table)
    if name == "cross_validation":
        table = folds_in_percent(table)
    if name in ("transfer", "adversarial"):
        table = transfer_summary(result.tables)
    numeric = table.select_dtypes("number").columns
    shown = table.copy()
    shown[numeric] = shown[numeric].round(2)
    p = result.provenance
    speed = p.get("time_per_image_ms")
    line = (
        f"`{p['command']}`, commit {p['commit']}, {p['date'][:10]}, {p['minutes']:.1f} min"
        + (f" at {speed:.2f} ms/image" if speed else "")
        + "."
    )
    return markdown_table(shown) + "\n\n" + line


#: The columns of the ``transfer`` experiment a reader compares (:func:`transfer_summary`).
TRANSFER_COLUMNS = [
    "chosen on DS1 folds", "DS1 folds S F1 (%)", "DS1 folds V F1 (%)", "DS2 accuracy (%)",
    "DS2 S Se (%)", "DS2 S +P (%)", "DS2 V Se (%)", "DS2 V +P (%)", "DS2 F Se (%)", "DS2 S F1 (%)",
    "DS2 V F1 (%)",
]  # fmt: skip


def transfer_summary(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """The ``transfer`` experiment in one readable table: each adaptation's S and V F1 on the DS1
    folds, its DS2 figures, and the trees on the same folds (their DS2 figures are the
    ``selftraining`` experiment's; not read again here)."""
    table = tables["table"].reindex(columns=TRANSFER_COLUMNS)
    trees = tables["trees on the folds"].reindex(columns=TRANSFER_COLUMNS)
    return pd.concat([table, trees.assign(**{"chosen on DS1 folds": ""})])


def folds_in_percent(table: pd.DataFrame) -> pd.DataFrame:
    """The ``cross_validation`` table with its fractions in %, and two last rows: the mean and the
    standard deviation over the folds."""
    rates = ["accuracy", "macro Se", "macro +P", "macro F1"]
    out = table.set_index("fold") if "fold" in table.columns else table.copy()
    out[rates] = 100 * out[rates]
    out = out.rename(columns={c: f"{c} (%)" for c in rates})
    summary = out.agg(["mean", "std"])
    both = pd.concat([out.astype(object), summary.astype(object)])
    both.index.name = "fold"
    return both


def records_with_total(table: pd.DataFrame) -> pd.DataFrame:
    """The ``records`` table with a last row ``all`` (sums, and the percentages of the sums)."""
    counts = ["beats", "found", "reported", "PVCs", "PVCs found", "PVCs called V", "seconds"]
    total = table[counts].sum().astype(object)  # the lead column holds text
    total["found (%)"] = 100 * total["found"] / total["beats"]
    total["PVCs called V (%)"] = 100 * total["PVCs called V"] / max(total["PVCs"], 1)
    total["lead"] = ""
    return pd.concat([table, total.to_frame("all").T[table.columns]])


def markdown_table(frame: pd.DataFrame) -> str:
    """``frame`` as a GitHub Markdown table (index first; numbers as pandas prints them)."""

    def cell(v) -> str:
        if isinstance(v, float):
            return (
                ""
                if pd.isna(v)
                else f"{v:g}"
                if abs(v) >= 1e5
                else f"{v:.2f}".rstrip("0").rstrip(".")
            )
        return str(v).replace("|", "\\|")

    index_name = frame.index.name or (
        " / ".join(map(str, frame.index.names)) if frame.index.nlevels > 1 else ""
    )
    head = [index_name, *map(str, frame.columns)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for idx, row in frame.iterrows():
        key = " / ".join(map(str, idx)) if isinstance(idx, tuple) else str(idx)
        lines.append("| " + " | ".join([cell(key), *(cell(v) for v in row)]) + " |")
    return "\n".join(lines)


_BEGIN = "<!-- experiment {name} {profile} -->"
_END = "<!-- /experiment -->"


#: The pages whose experiment blocks :func:`render_readme` fills (``experiment readme``): the
#: README's headline tables and the results page that holds every stored table.
RESULT_PAGES = ("README.md", "docs/results.md")


def render_readme(text: str, *, out=None) -> str:
    """``text`` with every block between ``<!-- experiment NAME PROFILE -->`` and
    ``<!-- /experiment -->`` replaced by :func:`readme_table` of that experiment."""
    import re

    pattern = re.compile(r"(<!-- experiment (\S+) (\S+) -->\n)(.*?)(<!-- /experiment -->)", re.S)

    def fill(m: re.Match) -> str:
        return m.group(1) + readme_table(m.group(2), m.group(3), out=out) + "\n" + m.group(5)

    return pattern.sub(fill, text)
