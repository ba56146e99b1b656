"""Deployment on leads people record: ``bench polarity`` and ``bench paced``.

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

from ..data import MITDB_RECORDS, fetch, load_record
from ..deploy.predict import ecg_from_array, load_deployed_model, predict_ecg

#: Issue 31's target: beats classified alike as recorded and turned over, %.
POLARITY_TARGET = 98.0


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
