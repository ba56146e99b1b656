"""Deployment on long recordings and their Holter summary: ``bench long`` and ``bench holter``.

Chapter 10's pipeline on the recordings a Holter reader brings.

``long`` joins MIT-BIH's 48 half-hour records into one day-long WFDB record (a day in which the
beat shape and the rate change as much as they can: every half hour another person) and repeats
that day into a week, then classifies half an hour, the day and the week, each in a fresh process
so that its peak memory is its own, and prints time, peak memory and the machine's speed. On the
day it also compares the answer with the same beats read as the 48 half-hour files, and both
with the cardiologists' labels (EC57).

``holter`` derives the Holter summary (:mod:`ecgutils.deploy.holter`) of every record from the
deployed model's answer and from the reference beats the same way, and prints both.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from ..config import DS1, DS2, data_dir, get_profile, mitdb_dir
from ..data import MITDB_RECORDS, fetch, load_record
from ..dataset import build_dataset
from ..deploy.holter import holter_summary, reference_beats
from ..deploy.models import TREES_DIR, TreesModel
from ..deploy.predict import (
    ecg_from_array,
    load_deployed_model,
    predict_ecg,
    predict_recording,
    recording_from_ecg,
)
from ..evaluate import ds1_only, ec57_metrics, patient_kfold_splits
from ..segment import match_to_reference
from ..trees import TREES_BALANCE_POWER, TreesClassifier, fit_cached, load_or_train_trees
from . import ledger

#: What ``bench long`` classifies: name -> days of the joined day (half an hour: record 100).
LENGTHS = {"30 min": None, "24 h": 1, "7 days": 7}
#: Targets of issue 31: peak memory for any length, GB; seconds for 24 hours at 1.5 ms/image.
LONG_TARGETS = {"peak GB": 1.5, "24 h seconds at 1.5 ms/image": 10.0}

_RUN = """
import json, resource, sys, time
from ecgutils.deploy.predict import load_deployed_model, open_recording, predict_recording
model = load_deployed_model()
rec = open_recording(sys.argv[1])
t = time.perf_counter()
pred = predict_recording(rec, model)
seconds = time.perf_counter() - t
pred.beats[["r", "class"]].to_csv(sys.argv[2], index=False)
# this process's high-water mark (VmHWM; ru_maxrss would keep the parent's across exec)
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM:")]
peak = int(hwm[0].split()[1]) if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
peak = peak / 2**20
print(json.dumps({"seconds": seconds, "beats": len(pred.beats), "peak GB": peak,
                  "hours": rec.duration_s / 3600}))
"""


def long_records(folder: Path | None = None) -> dict[str, Path]:
    """The WFDB records ``bench long`` reads (written once under ``data/cache/long``): record
    100, the day (the 48 records joined, MLII or else the first lead) and the week (the day seven
    times). Returns name -> header path."""
    folder = Path(folder or data_dir() / "cache" / "long")
    folder.mkdir(parents=True, exist_ok=True)
    fetch(list(MITDB_RECORDS), progress=False)
    day = folder / "day.hea"
    if not day.is_file():
        signal = np.concatenate([load_record(n, warn=False).signal for n in MITDB_RECORDS])
        digital = np.round(200 * signal).astype("<i2")
        (folder / "day.dat").write_bytes(digital.tobytes())
        day.write_text(f"day 1 360 {len(digital)}\nday.dat 16 200(0)/mV 16 0 0 0 0 MLII\n")
    week = folder / "week.hea"
    if not week.is_file():
        one = (folder / "day.dat").read_bytes()
        with open(folder / "week.dat", "wb") as f:
            for _ in range(7):
                f.write(one)
        n = len(one) // 2 * 7
        week.write_text(f"week 1 360 {n}\nweek.dat 16 200(0)/mV 16 0 0 0 0 MLII\n")
    return {"30 min": mitdb_dir() / "100.hea", "24 h": day, "7 days": week}


def _pieces_and_reference(model) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The 48 records read one by one (the answer of the half-hour files) and their reference
    beats, in the day's sample numbering."""
    pieces, refs, offset = [], [], 0
    for name in tqdm(MITDB_RECORDS, desc="Half-hour pieces", unit="record"):
        rec = load_record(name, warn=False)
        beats = predict_ecg(ecg_from_array(rec.signal, rec.fs), model).beats
        pieces.append(beats[["r", "class"]].assign(r=beats["r"] + offset))
        r, classes = reference_beats(rec)
        refs.append(pd.DataFrame({"r": r + offset, "class": classes}))
        offset += len(rec.signal)
    return pd.concat(pieces, ignore_index=True), pd.concat(refs, ignore_index=True)


def _ec57(pred: pd.DataFrame, ref: pd.DataFrame) -> tuple[dict, int]:
    """EC57 of an answer against the reference beats (matched within 150 ms), and the beats
    found."""
    classes = ["N", "S", "V", "F", "Q"]
    match = match_to_reference(ref["r"].to_numpy(), pred["r"].to_numpy(), 360.0)
    ok = match >= 0
    y_true = np.array([classes.index(c) for c in ref["class"].to_numpy()[ok]])
    y_pred = np.array([classes.index(c) for c in pred["class"].to_numpy()[match[ok]]])
    return ec57_metrics(y_true, y_pred), int(ok.sum())


def _ec57_line(name: str, pred: pd.DataFrame, ref: pd.DataFrame) -> str:
    ec, found = _ec57(pred, ref)
    pc = ec["per_class"]
    figures = ", ".join(
        f"{c} Se {100 * pc[c]['se']:.1f} +P {100 * pc[c]['ppv']:.1f}" for c in "SVF"
    )
    return f"  {name}: accuracy {100 * ec['accuracy']:.2f}%, {figures} ({found:,} beats found)"


def bench_long(lengths=None) -> str:
    """``python -m ecgutils bench long``: time and peak memory of half an hour, a day and a week."""
    from ..models import machine_speed  # deferred: ecgutils.models loads TensorFlow

    paths = long_records()
    rows, answers = [], {}
    for name in lengths or LENGTHS:
        out = paths[name].with_name(paths[name].stem + "-answer.csv")
        got = subprocess.run([sys.executable, "-c", _RUN, str(paths[name]), str(out)],
                             capture_output=True, text=True, check=False)  # fmt: skip
        if got.returncode:
            raise RuntimeError(f"bench long, {name}: {got.stderr.strip().splitlines()[-1]}")
        rows.append({"recording": name, **json.loads(got.stdout.strip().splitlines()[-1])})
        answers[name] = pd.read_csv(out, dtype={"class": str})
    speed = machine_speed()
    table = pd.DataFrame(rows).set_index("recording")
    table["seconds per 24 h"] = table["seconds"] / table["hours"] * 24
    table["at 1.5 ms/image"] = table["seconds per 24 h"] * 1.5 / speed
    lines = [
        "Deployment on long recordings (default model, WFDB records read from disk in windows):",
        table.round(2).to_string(),
        f"Targets: peak at most {LONG_TARGETS['peak GB']} GB for any length; 24 h of ECG in "
        f"{LONG_TARGETS['24 h seconds at 1.5 ms/image']:.0f} s at 1.5 ms/image.",
    ]
    if "24 h" in answers:
        model = load_deployed_model()
        pieces, ref = _pieces_and_reference(model)
        day = answers["24 h"]
        common = np.intersect1d(day["r"], pieces["r"])
        same = day.set_index("r").loc[common, "class"] == pieces.set_index("r").loc[common, "class"]
        lines += [
            f"The day against its 48 half-hour pieces read one by one: {100 * same.mean():.2f}% of "
            f"{len(common):,} beats found in both get the same class.",
            "EC57 against the cardiologists' labels (all 48 records: patients the deployed trees "
            "were trained on, so optimistic; the card's DS2 figures are the new-patient ones):",
            _ec57_line("the day, one recording", day, ref),
            _ec57_line("the 48 half-hour pieces", pieces, ref),
        ]
    lines.append(f"This machine: {speed:.2f} ms/image (models.time_per_image)")
    return "\n".join(lines)


#: The Holter events compared by ``bench holter``.
HOLTER_COUNTS = ("V couplets", "V runs (>=3)", "V bigeminy", "V trigeminy", "S couplets",
                 "S runs (>=3)", "pauses > 2 s")  # fmt: skip


def holter_table(records=None, model=None) -> pd.DataFrame:
    """Per record, the Holter summary's counts and burdens from the deployed model's answer and
    from the reference beats (``ref`` and ``model`` columns of each figure)."""
    names = list(records or MITDB_RECORDS)
    fetch(names, progress=False)
    model = model or load_deployed_model()
    rows = []
    for name in tqdm(names, desc="Records", unit="record"):
        rec = load_record(name, warn=False)
        pred = predict_ecg(ecg_from_array(rec.signal, rec.fs), model).beats
        duration = len(rec.signal) / rec.fs
        r, cls = reference_beats(rec)
        ref = holter_summary(r, cls, rec.fs, duration_s=duration)
        got = holter_summary(pred["r"].to_numpy(), pred["class"].to_numpy(), rec.fs,
                             duration_s=duration, scheme=model.card["scheme"])  # fmt: skip
        row = {"record": name}
        for key in HOLTER_COUNTS:
            row[(key, "ref")], row[(key, "model")] = ref.counts[key], got.counts[key]
        for c in ("V", "S"):
            row[(f"{c} burden %", "ref")] = ref.burden[c]
            row[(f"{c} burden %", "model")] = got.burden[c]
        rows.append(row)
    table = pd.DataFrame(rows).set_index("record")
    table.columns = pd.MultiIndex.from_tuples(table.columns)
    return table


def bench_holter(records=None) -> str:
    """``python -m ecgutils bench holter``: the Holter summary from the model and from the
    reference beats, totals over the records and the records where they differ most."""
    t0 = time.perf_counter()
    table = holter_table(records)
    totals = pd.DataFrame({k: table[k].sum() for k in HOLTER_COUNTS}).T
    burden = pd.DataFrame({k: table[k].mean() for k in ("V burden %", "S burden %")}).T
    exact = {k: int((table[(k, "ref")] == table[(k, "model")]).sum()) for k in HOLTER_COUNTS}
    totals["records equal"] = pd.Series(exact)
    lines = [
        f"Holter summary over {len(table)} records, from the reference beats and from the deployed "
        "model's answer (the same rules on both):",
        totals.to_string(),
        "Mean burden per record (%):",
        burden.round(2).to_string(),
        f"({time.perf_counter() - t0:.0f} s)",
    ]
    return "\n".join(lines)


#: Neighbourhood lengths ``bench neighbourhood`` compares, s (deployment's: REFERENCE_S).
SPANS = (600.0, 1200.0, 1800.0, 3600.0)


def neighbourhood_table(spans=SPANS, k: int = 5, profile: str = "standard") -> pd.DataFrame:
    """Choose deployment's neighbourhood (:data:`ecgutils.deploy.windows.REFERENCE_S`) on DS1
    alone. DS1's records fall in ``k`` patient folds (those of
    :func:`ecgutils.trees.ds1_fold_probabilities`); the trees trained on the other folds (one
    tree model per fold, kept in the store) read each fold's records joined into one long
    recording, once per span, and every answer is scored against the cardiologists' labels
    (EC57 over all folds) and against the same records read one by one (each its own
    reference); spans shorter than a record also read each record alone. DS2 is never read."""

    prof = get_profile(profile)
    card = load_deployed_model("trees").card
    ds = build_dataset(prof, rule="fixed", scale="patient", progress=False)
    labels = ds1_only(ds.beats, ds.labels("aami5"))
    records = set()
    estimator = TreesClassifier(5, balance_power=TREES_BALANCE_POWER, n_models=1, max_iter=300,
                                seed=2018, progress=False)  # fmt: skip
    short = [s for s in spans if s < 1800]  # shorter than a record: it matters within one too
    answers = {"records one by one": [], **{f"one by one, {s / 60:.0f} min": [] for s in short},
               **{f"joined, {s / 60:.0f} min": [] for s in spans}}  # fmt: skip
    refs, start = [], 0  # every fold's joined recording in one numbering, one after the other
    folds = patient_kfold_splits(ds.beats, labels, k, 2018)
    for train, test in tqdm(folds, desc="DS1 patient folds", unit="fold"):
        trees, _, _ = fit_cached(estimator, ds, train, label=f"{prof.name}-ds1-fold")
        model = TreesModel(trees, card, TREES_DIR)
        held = set(ds.beats["record"].to_numpy()[test])
        names = [n for n in DS1 if n in held]
        records |= held
        signals = [load_record(n, warn=False).signal for n in names]
        at = start
        for n, x in zip(names, signals):  # each record alone: the answer of the half-hour files
            for name, span in [("records one by one", 1e9)] + [
                (f"one by one, {s / 60:.0f} min", s) for s in short
            ]:
                beats = predict_ecg(
                    ecg_from_array(x, 360.0), model, reference_s=span, pacing=False
                ).beats  # the detector saw every record
                answers[name].append(beats[["r", "class"]].assign(r=beats["r"] + at))
            r, classes = reference_beats(load_record(n, warn=False))
            refs.append(pd.DataFrame({"r": r + at, "class": classes}))
            at += len(x)
        joined = recording_from_ecg(ecg_from_array(np.concatenate(signals), 360.0))
        for s in spans:
            beats = predict_recording(joined, model, reference_s=s).beats
            answers[f"joined, {s / 60:.0f} min"].append(
                beats[["r", "class"]].assign(r=beats["r"] + start)
            )
        start = at
    ref = pd.concat(refs, ignore_index=True)
    alone = pd.concat(answers["records one by one"], ignore_index=True).set_index("r")["class"]
    rows = []
    for name, parts in answers.items():
        pred = pd.concat(parts, ignore_index=True)
        common = np.intersect1d(pred["r"], alone.index)
        same = (pred.set_index("r").loc[common, "class"] == alone.loc[common]).mean()
        rows.append({"answer": name, **_ec57_figures(pred, ref),
                     "same class as one by one (%)": 100 * same})  # fmt: skip
    return pd.DataFrame(rows).set_index("answer").round(2)


def deployment_ds2_table(spans=(600.0, 1800.0), profile: str = "standard") -> pd.DataFrame:
    """The DS1 -> DS2 figures of the trees as deployment reads a file: the trees trained on DS1
    (:func:`ecgutils.trees.load_or_train_trees`, kept in the store) read each DS2 record through
    :func:`ecgutils.deploy.predict.predict_ecg` with each neighbourhood span (detected beats,
    matched to the reference within 150 ms; EC57 over all DS2 records, %). Reads DS2: what it
    prints belongs in the DS2 ledger, and chooses nothing."""

    model = TreesModel(load_or_train_trees(profile).trees, load_deployed_model("trees").card,
                       TREES_DIR)  # fmt: skip
    answers, refs, at = {s: [] for s in spans}, [], 0
    for n in tqdm(DS2, desc="DS2 records", unit="record"):
        rec = load_record(n, warn=False)
        for s in spans:
            beats = predict_ecg(
                ecg_from_array(rec.signal, rec.fs), model, reference_s=s, pacing=False
            ).beats  # the pacing detector saw DS2
            answers[s].append(beats[["r", "class"]].assign(r=beats["r"] + at))
        r, classes = reference_beats(rec)
        refs.append(pd.DataFrame({"r": r + at, "class": classes}))
        at += len(rec.signal)
    ref = pd.concat(refs, ignore_index=True)
    rows = [
        {"neighbourhood": f"{s / 60:.0f} min", **_ec57_figures(pd.concat(answers[s]), ref)}
        for s in spans
    ]
    return pd.DataFrame(rows).set_index("neighbourhood").round(2)


def _ec57_figures(pred: pd.DataFrame, ref: pd.DataFrame) -> dict:
    """:func:`_ec57`'s accuracy and S, V and F figures, in %."""
    ec, _ = _ec57(pred, ref)
    pc = ec["per_class"]
    out = {"accuracy (%)": 100 * ec["accuracy"]}
    for c in "SVF":
        out |= {f"{c} Se (%)": 100 * pc[c]["se"], f"{c} +P (%)": 100 * pc[c]["ppv"]}
    return out


def bench_neighbourhood(spans=SPANS, ds2: bool = False) -> str:
    """``python -m ecgutils bench neighbourhood [--ds2]``: :func:`neighbourhood_table`, printed;
    with ``ds2``, then :func:`deployment_ds2_table` (the DS2 ledger's, after the choice)."""
    from ..models import machine_speed  # deferred: ecgutils.models loads TensorFlow

    t = time.perf_counter()
    lines = [
        "Deployment's neighbourhood chosen on DS1 alone: each DS1 patient fold's records joined "
        "into one recording, read by trees trained on the other folds (EC57 over all folds):",
        neighbourhood_table(spans).to_string(),
    ]
    if ds2:
        table = deployment_ds2_table()
        for span, row in table.iterrows():  # DS2 read: on record
            ledger.record(
                f"deployment: the trees (DS1) reading each DS2 record, {span} neighbourhood",
                ledger.figures_from_row(row),
                command="python -m ecgutils bench neighbourhood --ds2",
                parameters={"reference_s": float(span.split()[0]) * 60, "profile": "standard",
                            "pacing": False},
                note="the neighbourhood was chosen on DS1 folds before this scoring",
            )  # fmt: skip
        lines += [
            "DS2 read through deployment by the trees trained on DS1 (reads DS2: chooses nothing; "
            "written to the DS2 ledger):",
            table.to_string(),
        ]
    minutes = (time.perf_counter() - t) / 60
    return "\n".join([
        *lines,
        f"{minutes:.1f} min; this machine: {machine_speed():.2f} ms/image (models.time_per_image)",
    ])  # fmt: skip
