"""Figures of the course, with one class palette shared by every chapter.

Every function draws on a Matplotlib ``Axes`` (made if not given) and returns it, so a
notebook can compose figures and a test can inspect them. Axes carry units.
"""

from __future__ import annotations

from collections.abc import Iterable

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes

from .classes import SCHEMES, scheme_table, symbol_map
from .data import Record, count_classes

#: One colour per class code, the same in every scheme and every chapter (Okabe-Ito based).
CLASS_COLORS: dict[str, str] = {
    "N": "#7f7f7f",  # normal / non-ectopic: neutral grey
    "L": "#0072B2",  # LBBB: blue
    "R": "#56B4E9",  # RBBB: sky blue
    "A": "#E69F00",  # APC: orange
    "S": "#E69F00",  # AAMI supraventricular: orange, as A
    "V": "#D55E00",  # PVC / AAMI ventricular: vermilion
    "/": "#009E73",  # paced: green
    "Q": "#009E73",  # AAMI unknown (mostly paced): green, as /
    "E": "#CC79A7",  # ventricular escape: purple
    "!": "#000000",  # ventricular flutter wave: black
    "F": "#F0E442",  # fusion: yellow
}
#: Colour for beats outside the scheme being shown.
OTHER_COLOR = "#bcbd22"


def class_color(cls: str) -> str:
    """Colour of a class code (:data:`CLASS_COLORS`), or :data:`OTHER_COLOR`."""
    return CLASS_COLORS.get(cls, OTHER_COLOR)


def _axes(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def plot_record_strip(
    record: Record,
    start_s: float = 0.0,
    duration_s: float = 10.0,
    *,
    scheme: str = "paper8",
    show_marks: bool = True,
    ax: Axes | None = None,
) -> Axes:
    """Plot a stretch of a record in mV against seconds, with its annotations.

    Beat symbols are written above each annotated R peak, coloured by their class in
    ``scheme``; non-beat marks (rhythm ``+``, noise ``~``, comments ``"``) are dashed
    vertical lines with their text.

    Parameters
    ----------
    record : Record
        From :func:`ecgutils.data.load_record`.
    start_s, duration_s : float
        Window to show, in seconds. Clipped to the record.
    """
    ax = _axes(ax, (12, 3.2))
    n = len(record.signal)
    i0 = int(np.clip(round(start_s * record.fs), 0, max(n - 1, 0)))
    i1 = int(np.clip(round((start_s + duration_s) * record.fs), i0 + 1, n))
    t = np.arange(i0, i1) / record.fs
    x = record.signal[i0:i1]
    ax.plot(t, x, color="#1f1f1f", lw=0.8)
    lo, hi = (float(x.min()), float(x.max())) if len(x) else (0.0, 1.0)
    pad = 0.08 * (hi - lo or 1.0)

    mapping = symbol_map(scheme)
    beats = record.beats
    inside = (beats.sample >= i0) & (beats.sample < i1)
    for s, sym in zip(beats.sample[inside], beats.symbol[inside]):
        color = class_color(mapping.get(sym, "?"))
        ax.plot(s / record.fs, record.signal[s], "o", ms=3.5, color=color)
        ax.text(
            s / record.fs,
            hi + pad,
            sym,
            ha="center",
            va="bottom",
            color=color,
            fontsize=10,
            fontweight="bold",
        )
    if show_marks:
        marks = record.marks
        inside = (marks.sample >= i0) & (marks.sample < i1)
        for s, sym, note in zip(marks.sample[inside], marks.symbol[inside], marks.aux_note[inside]):
            ax.axvline(s / record.fs, color="#555555", ls="--", lw=0.8)
            ax.text(
                s / record.fs,
                lo - pad,
                f" {sym}{note}",
                ha="left",
                va="top",
                fontsize=8,
                color="#555555",
            )
    ax.set_ylim(lo - 4 * pad, hi + 4 * pad)
    ax.set_xlim(i0 / record.fs, i1 / record.fs)
    ax.set_xlabel("time (s)")
    ax.set_ylabel(f"{record.lead} (mV)")
    ax.set_title(f"Record {record.name}, lead {record.lead}, {t[0]:.1f}-{t[-1]:.1f} s")
    return ax


def class_totals(
    records: str | int | Iterable[str | int] | None = None, schemes: Iterable[str] = SCHEMES
) -> pd.DataFrame:
    """Beats per class over some records, for several schemes.

    Returns
    -------
    DataFrame
        One row per (scheme, class) with columns ``scheme``, ``cls``, ``name``, ``count``
        and ``percent`` (of the scheme's total).
    """
    frames = []
    for scheme in schemes:
        counts = count_classes(records, scheme).sum()
        table = scheme_table(scheme)
        frames.append(
            pd.DataFrame(
                {
                    "scheme": scheme,
                    "cls": counts.index,
                    "name": table.loc[counts.index, "name"].to_numpy(),
                    "count": counts.to_numpy(),
                    "percent": 100 * counts.to_numpy() / max(int(counts.sum()), 1),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def plot_class_totals(totals: pd.DataFrame, *, log: bool = True) -> plt.Figure:
    """Bar chart of :func:`class_totals`, one panel per scheme, counts on a log scale."""
    schemes = list(dict.fromkeys(totals["scheme"]))
    fig, axes = plt.subplots(
        1, len(schemes), figsize=(4.2 * len(schemes), 3.6), layout="constrained", squeeze=False
    )
    for ax, scheme in zip(axes[0], schemes):
        part = totals[totals["scheme"] == scheme]
        labels = [f"{c}\n{n}" for c, n in zip(part["cls"], part["name"])]
        bars = ax.bar(
            labels,
            part["count"],
            color=[class_color(c) for c in part["cls"]],
            edgecolor="black",
            linewidth=0.5,
        )
        ax.bar_label(bars, labels=[f"{v:,}" for v in part["count"]], fontsize=7, padding=1)
        if log:
            ax.set_yscale("log")
        ax.set_ylabel("beats (log scale)" if log else "beats")
        ax.set_title(f"{scheme}: {int(part['count'].sum()):,} beats")
        ax.tick_params(axis="x", labelsize=7)
        ax.margins(y=0.15)
    fig.suptitle("Beats per class in the reference annotations")
    return fig


def plot_class_presence(counts: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Heat map of which record holds how many beats of which class.

    Parameters
    ----------
    counts : DataFrame
        From :func:`ecgutils.data.count_classes`: records as rows, classes as columns.
    """
    table = counts.T
    ax = _axes(ax, (max(6, 0.33 * table.shape[1] + 1.5), 0.45 * table.shape[0] + 1.6))
    shown = np.log10(table.where(table > 0))
    sns.heatmap(
        shown,
        ax=ax,
        cmap="viridis",
        annot=table.where(table > 0),
        fmt=".0f",
        annot_kws={"fontsize": 6, "rotation": 90},
        cbar_kws={"label": "log10(beats)"},
        linewidths=0.3,
        linecolor="white",
    )
    ax.set_xlabel("record")
    ax.set_ylabel(f"class ({counts.columns.name or 'scheme'})")
    ax.set_title("Which records hold which classes (blank: none)")
    return ax
