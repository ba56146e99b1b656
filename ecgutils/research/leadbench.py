"""Deployment on leads people record: ``bench polarity`` and ``bench paced``.

``paced`` measures the pacing detector (:mod:`ecgutils.deploy.pacing`) through deployment: four
folds, each holding out one of the four paced patients and a quarter of the other 44 records,
with a detector trained on the rest; every held-out record is classified by
:func:`predict_ecg` and its reference beats matched to the answer's. Printed: per paced record,
the share of its paced beats reported as paced or in a window said to be paced (target at least
95%), and per other record the share of its beats in a window said to be paced (target at most
0.5% over the 44); then the same for the shipped detector, which learnt from all 48 records (a
figure on its own training beats, not on new patients).

``polarity`` classifies every record as recorded and turned over (the signal negated, as with
swapped electrodes) and prints, per record, the share of beats that get the same class both
ways (issue 31's target: at least 98%). Deployment reads a neighbourhood whose QRS points down
turned over (:func:`ecgutils.render.patient_normalize`), so both ways should give one answer.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from ..config import PACED_RECORDS
from ..data import MITDB_RECORDS, fetch, load_record
from ..deploy.pacing import PACED_SYMBOLS, PacingDetector, load_detector, training_beats
from ..deploy.predict import ecg_from_array, load_deployed_model, predict_ecg
from ..segment import match_to_reference

#: Issue 31's target: beats classified alike as recorded and turned over, %.
POLARITY_TARGET = 98.0
#: Issue 31's targets: paced beats reported as paced or flagged (at least), other records'
#: beats flagged (at most), %.
PACED_TARGET, FALSE_FLAG_TARGET = 95.0, 0.5
#: The seed that deals the 44 records without pacing into the four folds.
FOLD_SEED = 0


def polarity_table(records=None, model=None) -> pd.DataFrame:
    """Per record: beats found as recorded and negated, and the share (%) of the beats found both
    ways (the same R sample) that get the same class."""
    names = list(records or MITDB_RECORDS)
    fetch(names, progress=False)
    model = model or load_deployed_model()
    rows = []
    for name in tqdm(names, desc="Records", unit="record"):
        rec = load_record(name, warn=False)
        up = predict_ecg(ecg_from_array(rec.signal, rec.fs), model).beats
        down = predict_ecg(ecg_from_array(-rec.signal, rec.fs), model).beats
        both = up.merge(down, on="r", suffixes=("", " negated"))
        same = (both["class"] == both["class negated"]).to_numpy()
        rows.append({
            "record": name, "beats": len(up), "beats negated": len(down),
            "same class %": 100 * same.mean() if len(same) else np.nan,
        })  # fmt: skip
    return pd.DataFrame(rows).set_index("record")


def bench_polarity(records=None) -> str:
    """``python -m ecgutils bench polarity``: the table, the lowest record and the share over
    all beats, against :data:`POLARITY_TARGET`."""
    from ..models import machine_speed  # deferred: ecgutils.models loads TensorFlow

    t0 = time.perf_counter()
    table = polarity_table(records)
    weights = table["beats"]
    overall = float((table["same class %"] * weights).sum() / weights.sum())
    worst = table["same class %"].idxmin()
    lines = [
        "Each record classified as recorded and negated (leads swapped): beats of the same class.",
        table.round(2).to_string(),
        f"All beats: {overall:.2f}% the same class (target >= {POLARITY_TARGET:.0f}%); lowest "
        f"record {worst}: {table.loc[worst, 'same class %']:.2f}%.",
        f"({time.perf_counter() - t0:.0f} s at {machine_speed():.2f} ms/image)",
    ]
    return "\n".join(lines)


def paced_folds(seed: int = FOLD_SEED) -> list[list[str]]:
    """Four folds of the 48 records: each one paced record and a quarter of the others."""
    others = [r for r in MITDB_RECORDS if r not in PACED_RECORDS]
    np.random.default_rng(seed).shuffle(others)
    return [[paced, *others[k :: len(PACED_RECORDS)]] for k, paced in enumerate(PACED_RECORDS)]


def flagged_beats(name: str, model, detector) -> dict:
    """One record through deployment with ``detector``: its reference beats, paced ones among
    them, and how many of each the answer flags (Q, Paced, or in a paced window)."""
    rec = load_record(name, warn=False)
    pred = predict_ecg(ecg_from_array(rec.signal, rec.fs), model, pacing=detector)
    beats = pred.beats
    said = (beats["class"] == "Q").to_numpy() | beats["paced window"].to_numpy()
    ref = rec.beats.sample
    match = match_to_reference(beats["r"].to_numpy(), ref, rec.fs)
    flagged = np.zeros(len(ref), dtype=bool)
    flagged[match[match >= 0]] = said[match >= 0]
    paced = np.isin(rec.beats.symbol, PACED_SYMBOLS)
    return {
        "record": name, "beats": len(ref), "flagged": int(flagged.sum()),
        "paced beats": int(paced.sum()), "paced flagged": int((flagged & paced).sum()),
    }  # fmt: skip


def paced_table(detector_for=None, model=None) -> pd.DataFrame:
    """Per record (:func:`flagged_beats`), each with the detector of its fold (trained on the
    other folds' records: :func:`paced_folds`), or ``detector_for(record)``'s."""
    fetch(list(MITDB_RECORDS), progress=False)
    model = model or load_deployed_model()
    rows = []
    if detector_for is None:
        x, y, names = training_beats(MITDB_RECORDS)
        folds = paced_folds()
        detectors = {}
        for fold in folds:
            train = ~np.isin(names, fold)
            detector = PacingDetector().fit(x[train], y[train])
            detectors.update(dict.fromkeys(fold, detector))
        detector_for = detectors.__getitem__
    for name in tqdm(MITDB_RECORDS, desc="Records", unit="record"):
        rows.append(flagged_beats(name, model, detector_for(name)))
    table = pd.DataFrame(rows).set_index("record")
    table["flagged %"] = 100 * table["flagged"] / table["beats"]
    has_paced = table["paced beats"].replace(0, np.nan)
    table["paced flagged %"] = 100 * table["paced flagged"] / has_paced
    return table


def paced_lines(table: pd.DataFrame, title: str) -> list[str]:
    """The paced records' rows, the other records flagged most, and both shares against the
    targets."""
    paced = table.loc[list(PACED_RECORDS)]
    others = table.drop(index=list(PACED_RECORDS))
    caught = 100 * paced["paced flagged"].sum() / paced["paced beats"].sum()
    false = 100 * others["flagged"].sum() / others["beats"].sum()
    worst = others["flagged %"].sort_values(ascending=False).head(3)
    return [
        title,
        paced[["paced beats", "paced flagged", "paced flagged %"]].round(1).to_string(),
        f"Paced beats reported as paced or flagged: {caught:.1f}% (target >= {PACED_TARGET:.0f}%).",
        f"Beats of the other 44 records flagged: {false:.2f}% (target <= {FALSE_FLAG_TARGET}%); "
        "most: " + ", ".join(f"{r} {v:.1f}%" for r, v in worst.items()) + ".",
    ]


def bench_paced() -> str:
    """``python -m ecgutils bench paced``: the pacing detector on new patients (four folds),
    then the shipped one on its own training records."""
    from ..models import machine_speed  # deferred: ecgutils.models loads TensorFlow

    t0 = time.perf_counter()
    lines = paced_lines(
        paced_table(),
        "New patients: each record with a detector trained on the other folds (one paced "
        "patient held out each).",
    )
    shipped = load_detector()
    lines += paced_lines(
        paced_table(lambda name: shipped),
        "The shipped detector on its own training records (all 48; not a new-patient figure).",
    )
    lines.append(f"({time.perf_counter() - t0:.0f} s at {machine_speed():.2f} ms/image)")
    return "\n".join(lines)
