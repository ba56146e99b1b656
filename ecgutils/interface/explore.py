"""What the explorer widgets show, as plain functions (tested without a browser).

The widgets (:mod:`ecgutils.interface.widgets`) only wire controls to these and to
:mod:`ecgutils.interface.plotting`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..classes import scheme_classes
from ..data import Record
from ..dataset import DATASET_SCALES, reference_beats
from ..evaluate import ec57_metrics
from ..render import FIXED_RANGE_MV, PATIENT_RANGE, patient_normalize, render_beats


def record_images(
    record: Record,
    table: pd.DataFrame,
    rows,
    *,
    size: int = 48,
    scale: str = "minmax",
    line_width: float = 1.0,
    normalized: tuple | None = None,
) -> dict:
    """The images of some beats of one record, drawn as :func:`ecgutils.dataset.build_dataset`
    draws a data set with these options.

    Parameters
    ----------
    record : Record
    table : DataFrame
        The record's beats under one rule (:func:`ecgutils.segment.segment_record`).
    rows : sequence of int
        Positions in ``table`` of the beats to draw.
    scale : {"minmax", "fixed", "patient"}
        ``minmax``: each beat stretched to the image height; ``fixed``: -2 to 3 mV; ``patient``:
        the baseline removed and heights in units of the record's typical beat
        (:func:`ecgutils.render.patient_normalize`), -2 to 2 units.
    normalized : tuple, optional
        What :func:`ecgutils.render.patient_normalize` returned for this record and table, to
        reuse (it takes about half a second per record).

    Returns
    -------
    dict
        ``images`` (k, size, size) uint8; for ``scale="patient"`` also ``template`` (size, size)
        uint8, the record's median beat drawn the same way, and ``unit_mv``, the typical beat
        height in mV (None otherwise).
    """
    if scale not in DATASET_SCALES:
        raise ValueError(f"Unknown scale {scale!r}; choose one of {', '.join(DATASET_SCALES)}.")
    rows = np.asarray(rows, dtype=np.int64)
    starts, ends = table["start"].to_numpy(), table["end"].to_numpy()
    options = {"size": size, "line_width": line_width}
    if scale != "patient":
        images = render_beats(
            record.signal, starts[rows], ends[rows], scale=scale, mv_range=FIXED_RANGE_MV,
            **options,
        )  # fmt: skip
        return {"images": images, "template": None, "unit_mv": None}
    signal, template, unit = normalized or patient_signal(record, table)
    images = render_beats(
        signal, starts[rows], ends[rows], scale="fixed", mv_range=PATIENT_RANGE, **options
    )
    drawn = render_beats(
        template, [0], [len(template)], scale="fixed", mv_range=PATIENT_RANGE, **options
    )
    return {"images": images, "template": drawn[0], "unit_mv": unit}


def patient_signal(record: Record, table: pd.DataFrame) -> tuple:
    """:func:`ecgutils.render.patient_normalize` of a record with the beats of ``table``, its
    template the median of the reference beats (:func:`ecgutils.dataset.reference_beats`), as
    the ``patient`` data sets use: (signal in units, template, unit in mV)."""
    return patient_normalize(
        record.signal,
        table["start"].to_numpy(),
        table["end"].to_numpy(),
        record.fs,
        reference=reference_beats(table),
    )


def class_rows(table: pd.DataFrame, scheme: str = "paper8") -> dict[str, np.ndarray]:
    """Positions in ``table`` of each class of ``scheme`` the record holds (classes without a
    beat left out), in the scheme's order."""

    labels = table[scheme].to_numpy()
    out = {}
    for k, name in enumerate(scheme_classes(scheme)):
        rows = np.flatnonzero(labels == k)
        if len(rows):
            out[name] = rows
    return out


def error_table(
    beats: pd.DataFrame, index, y_true, probs, classes, *, fs: float = 360.0
) -> pd.DataFrame:
    """The misclassified beats, most confident mistakes first, with where and when they are.

    Parameters
    ----------
    beats : DataFrame
        The data set's beat table (:attr:`ecgutils.dataset.BeatDataset.beats`).
    index : (n,) int array
        Rows of ``beats`` that were classified.
    y_true : (n,) int array
        Their true classes (indices into ``classes``).
    probs : (n, n_classes) float array
        The model's class probabilities.
    classes : sequence of str
        Class names, in the model's output order.

    Returns
    -------
    DataFrame, one row per mistake: ``beat`` (row of ``beats``), ``record``, ``time (s)`` of the R
    peak, ``true``, ``predicted``, ``p(predicted)``, ``p(true)``, ``RR before (ms)``,
    ``RR after (ms)`` and ``RR before / local`` (below 1: early), sorted by ``p(predicted)``.
    """
    index, y_true, probs = np.asarray(index), np.asarray(y_true), np.asarray(probs)
    y_pred = probs.argmax(axis=1)
    wrong = np.flatnonzero(y_pred != y_true)
    rows = beats.iloc[index[wrong]]
    names = np.asarray(classes)
    out = pd.DataFrame(
        {
            "beat": index[wrong],
            "record": rows["record"].to_numpy(),
            "time (s)": rows["r"].to_numpy() / fs,
            "true": names[y_true[wrong]],
            "predicted": names[y_pred[wrong]],
            "p(predicted)": probs[wrong, y_pred[wrong]],
            "p(true)": probs[wrong, y_true[wrong]],
            "RR before (ms)": 1000 * rows["rr_prev_s"].to_numpy(),
            "RR after (ms)": 1000 * rows["rr_next_s"].to_numpy(),
            "RR before / local": (rows["rr_prev_s"] / rows["rr_local_s"]).to_numpy(),
        }
    )
    return out.sort_values("p(predicted)", ascending=False, kind="stable").reset_index(drop=True)


def s_operating_points(labels, probs, thresholds) -> pd.DataFrame:
    """EC57 figures when a beat is called S as soon as its S probability reaches a threshold
    (otherwise the likeliest of the other classes), one row per threshold.

    Parameters
    ----------
    labels : (n,) int array
        ``aami5`` indices (N, S, V, F, Q).
    probs : (n, 5) float array
    thresholds : sequence of float in [0, 1]

    Returns
    -------
    DataFrame indexed by threshold: ``S Se (%)``, ``S +P (%)``, ``V Se (%)``, ``V +P (%)``,
    ``accuracy (%)`` and ``S calls``.
    """

    labels, probs = np.asarray(labels), np.asarray(probs, dtype=float)
    s = 1  # aami5: N, S, V, F, Q
    others = probs.copy()
    others[:, s] = -np.inf
    fallback = others.argmax(axis=1)
    rows = {}
    for t in thresholds:
        pred = np.where(probs[:, s] >= t, s, fallback)
        ec = ec57_metrics(labels, pred)
        pc = ec["per_class"]
        rows[float(t)] = {
            "S Se (%)": 100 * pc["S"]["se"], "S +P (%)": 100 * pc["S"]["ppv"],
            "V Se (%)": 100 * pc["V"]["se"], "V +P (%)": 100 * pc["V"]["ppv"],
            "accuracy (%)": 100 * ec["accuracy"], "S calls": int((pred == s).sum()),
        }  # fmt: skip
    table = pd.DataFrame(rows).T
    table.index.name = "S threshold"
    return table
