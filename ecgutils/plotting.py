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

from .augment import nine_crops
from .classes import CLASS_SIGNS, SCHEMES, WAVE_WINDOWS, scheme_classes, scheme_table, symbol_map
from .data import Record, count_classes, load_record
from .detect import match_detections
from .evaluate import confusion_frame
from .predict import DEFAULT_DETECTOR, DeployedModel, Prediction
from .render import render_beats, resample_beat, trace_from_image
from .segment import FIXED_WINDOW_S, match_to_reference

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


def plot_detections(
    record: Record,
    peaks: np.ndarray,
    start_s: float = 0.0,
    duration_s: float = 10.0,
    *,
    title: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """A stretch of a record with a detector's R peaks judged against the reference beats:
    found beats (green ticks), missed beats (red crosses under the trace) and false detections
    (orange triangles), EC57-matched (:func:`ecgutils.detect.match_detections`). The title
    gives sensitivity and positive predictivity in the stretch."""

    ax = plot_record_strip(record, start_s, duration_s, show_marks=False, ax=ax)
    i0 = int(round(start_s * record.fs))
    i1 = int(round((start_s + duration_s) * record.fs))
    got = match_detections(record, peaks, start=i0, stop=i1)
    lo, hi = ax.get_ylim()
    shown = (
        ("found", "|", "#009E73", hi - 0.12 * (hi - lo), "detected beat"),
        ("missed", "x", "#D00000", lo + 0.08 * (hi - lo), "missed beat (false negative)"),
        ("false", "v", "#E69F00", hi - 0.12 * (hi - lo), "false detection (false positive)"),
    )
    for key, marker, color, y, label in shown:
        t = got[key] / record.fs
        ax.plot(t, np.full(len(t), y), marker, color=color, ms=9, mew=2, ls="none",
                label=f"{label}: {len(t)}")  # fmt: skip
    tp, fn, fp = len(got["found"]), len(got["missed"]), len(got["false"])
    se = f"{100 * tp / (tp + fn):.0f}%" if tp + fn else "n/a"
    ppv = f"{100 * tp / (tp + fp):.0f}%" if tp + fp else "n/a"
    head = f"{title}: " if title else ""
    ax.set_title(f"{head}Se {se}, +P {ppv} in {duration_s:g} s of record {record.name}")
    ax.legend(loc="lower right", fontsize=8, framealpha=0.9)
    return ax


def plot_beat_in_context(
    record: Record,
    beat: pd.Series,
    *,
    image: np.ndarray | None = None,
    context_s: float = 2.5,
    title: str = "",
) -> plt.Figure:
    """One beat where it happened: the strip ``context_s`` either side of its R peak with the
    cardiologists' labels, the beat's window shaded, and (if given) the image the model saw.

    ``beat`` is a row of a beat table (``r``, ``start``, ``end`` in samples of ``record``).
    """
    has_image = image is not None
    fig, axes = plt.subplots(
        1, 2 if has_image else 1, figsize=(13, 3.4), layout="constrained",
        gridspec_kw={"width_ratios": [4, 1]} if has_image else None,
    )  # fmt: skip
    ax = axes[0] if has_image else axes
    r = int(beat["r"]) / record.fs
    plot_record_strip(record, r - context_s, 2 * context_s, show_marks=False, ax=ax)
    ax.axvspan(int(beat["start"]) / record.fs, int(beat["end"]) / record.fs, color="#E69F00",
               alpha=0.18, label="the beat's window")  # fmt: skip
    ax.legend(loc="lower right", fontsize=8)
    if title:
        ax.set_title(title)
    if has_image:
        axes[1].imshow(image, cmap="gray", vmin=0, vmax=255)
        axes[1].set_title(f"the model's image ({image.shape[0]}x{image.shape[1]})")
        axes[1].set_axis_off()
    return fig


def plot_s_operating_points(
    table: pd.DataFrame,
    threshold: float,
    *,
    argmax: dict | None = None,
    targets: dict | None = None,
    ax: Axes | None = None,
) -> Axes:
    """S sensitivity against S positive predictivity as the S threshold moves
    (:func:`ecgutils.explore.s_operating_points`), the chosen threshold marked, the target
    corner shaded (``targets``: fractions under ``"S se"`` and ``"S ppv"``) and the plain argmax
    rule as a second point (``argmax``: ``{"S Se (%)": .., "S +P (%)": ..}``)."""
    ax = _axes(ax, (6.4, 4.6))
    ax.plot(table["S +P (%)"], table["S Se (%)"], "-", color="#7f7f7f", lw=1.5,
            label="thresholds 0 to 1")  # fmt: skip
    t = float(table.index[np.abs(table.index.to_numpy() - threshold).argmin()])
    row = table.loc[t]
    ax.plot(row["S +P (%)"], row["S Se (%)"], "o", color=class_color("S"), ms=10,
            label=f"threshold {t:.2f}")  # fmt: skip
    if argmax is not None:
        ax.plot(argmax["S +P (%)"], argmax["S Se (%)"], "s", color="#000000", ms=7,
                label="likeliest class (no threshold)")  # fmt: skip
    if targets:
        se, ppv = 100 * targets["S se"], 100 * targets["S ppv"]
        ax.fill_between([ppv, 100], se, 100, color="#009E73", alpha=0.18,
                        label=f"target: Se >= {se:.0f}%, +P >= {ppv:.0f}%")  # fmt: skip
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 100)
    ax.set_xlabel("S positive predictivity (%)")
    ax.set_ylabel("S sensitivity (%)")
    ax.set_title(
        f"S beats on DS1 patient folds: Se {row['S Se (%)']:.1f}%, +P {row['S +P (%)']:.1f}%"
    )
    ax.legend(loc="lower left", fontsize=8)
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


def plot_detector_summary(summary: pd.DataFrame, *, target: float = 99.5) -> plt.Figure:
    """Gross sensitivity and positive predictivity of each detector, with and without refining.

    Parameters
    ----------
    summary : DataFrame
        From :func:`ecgutils.detect.summarize_detectors`.
    target : float
        A reference line, in %.
    """
    table = summary.reset_index()
    detectors = list(dict.fromkeys(table["detector"]))
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6), layout="constrained", sharey=True)
    x = np.arange(len(detectors))
    for ax, col in zip(axes, ["Se (%)", "+P (%)"]):
        for k, (refine, label) in enumerate([(False, "as published"), (True, "+ T-wave check")]):
            part = table[table["refine"] == refine].set_index("detector").reindex(detectors)
            bars = ax.bar(
                x + (k - 0.5) * 0.38,
                part[col],
                width=0.38,
                label=label,
                color=["#9ecae1", "#3182bd"][k],
                edgecolor="black",
                linewidth=0.4,
            )
            ax.bar_label(bars, fmt="%.2f", fontsize=7, padding=1)
        ax.axhline(target, color="#D55E00", ls="--", lw=1, label=f"target {target}%")
        ax.set_xticks(x, detectors)
        ax.set_ylabel(f"{col.split()[0]} over all beats (%)")
        ax.set_title(f"{'Sensitivity' if col.startswith('Se') else 'Positive predictivity'}")
        low = float(np.nanmin(table[["Se (%)", "+P (%)"]].to_numpy()))
        ax.set_ylim(max(0.0, min(low, target) - 1.0), 100.2)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=3, fontsize=8)
    fig.suptitle("R-peak detectors against the reference beats (EC57, 150 ms window)")
    return fig


def plot_beat_windows(
    record: Record,
    tables: dict[str, pd.DataFrame],
    index: int,
    *,
    context_beats: int = 1,
    ax: Axes | None = None,
) -> Axes:
    """One beat and its neighbours, with the window each segmentation rule cuts for it.

    Parameters
    ----------
    record : Record
    tables : dict rule name -> beat table
        From :func:`ecgutils.segment.segment_record`, one per rule; ``index`` is a row of the
        first table, and the same beat (same R sample) is looked up in the others.
    index : int
        Row of the first table.
    """
    ax = _axes(ax, (11, 3.4))
    first = next(iter(tables.values()))
    row = first.iloc[index]
    r = int(row["r"])
    before = (row["rr_prev_s"] if np.isfinite(row["rr_prev_s"]) else 1.0) * record.fs
    after = (row["rr_next_s"] if np.isfinite(row["rr_next_s"]) else 1.0) * record.fs
    i0 = max(0, int(r - (context_beats + 0.3) * before))
    i1 = min(len(record.signal), int(r + (context_beats + 0.3) * after))
    t = np.arange(i0, i1) / record.fs
    ax.plot(t, record.signal[i0:i1], color="#1f1f1f", lw=0.9)
    colors = ["#0072B2", "#E69F00", "#009E73", "#CC79A7"]
    lo, hi = float(record.signal[i0:i1].min()), float(record.signal[i0:i1].max())
    band = (hi - lo) * 0.12
    for k, (rule, table) in enumerate(tables.items()):
        match = table[table["r"] == r]
        if match.empty:
            continue
        s, e = int(match["start"].iloc[0]), int(match["end"].iloc[0])
        y = lo - band * (k + 1)
        ax.axvspan(s / record.fs, e / record.fs, color=colors[k % 4], alpha=0.12)
        ax.plot(
            [s / record.fs, (e - 1) / record.fs],
            [y, y],
            color=colors[k % 4],
            lw=4,
            solid_capstyle="butt",
            label=f"{rule}: {s}-{e} ({(e - s) / record.fs:.2f} s)",
        )
    inside = (record.beats.sample >= i0) & (record.beats.sample < i1)
    for s, sym in zip(record.beats.sample[inside], record.beats.symbol[inside]):
        ax.text(
            s / record.fs,
            hi + band * 0.3,
            sym,
            ha="center",
            fontsize=10,
            fontweight="bold",
            color=class_color(symbol_map("paper8").get(sym, "?")),
        )
    ax.axvline(r / record.fs, color="#D55E00", lw=0.8, ls=":")
    ax.set_ylim(lo - band * (len(tables) + 1.5), hi + band * 1.5)
    ax.set_xlabel("time (s)")
    ax.set_ylabel(f"{record.lead} (mV)")
    ax.set_title(f"Record {record.name}, beat at sample {r} ({row['symbol']}): windows by rule")
    ax.legend(fontsize=8, loc="upper right")
    return ax


def plot_image_grid(
    images: np.ndarray,
    titles: Iterable[str] | None = None,
    *,
    ncols: int = 8,
    colors: Iterable[str] | None = None,
    suptitle: str | None = None,
    size_in: float = 1.5,
) -> plt.Figure:
    """A grid of grayscale images (``(n, h, w)`` uint8, 0 = black), titled and coloured."""
    images = np.asarray(images)
    n = len(images)
    ncols = max(1, min(ncols, n))
    nrows = int(np.ceil(n / ncols)) if n else 1
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(size_in * ncols, size_in * nrows + 0.4),
        squeeze=False,
        layout="constrained",
    )
    titles = list(titles) if titles is not None else [""] * n
    colors = list(colors) if colors is not None else ["black"] * n
    for k, ax in enumerate(axes.ravel()):
        ax.set_axis_off()
        if k < n:
            ax.imshow(images[k], cmap="gray", vmin=0, vmax=255, interpolation="nearest")
            ax.set_title(titles[k], fontsize=8, color=colors[k])
    if suptitle:
        fig.suptitle(suptitle)
    return fig


def class_gallery(
    images: np.ndarray, labels: np.ndarray, scheme: str, *, per_class: int = 6, seed: int = 0
) -> plt.Figure:
    """``per_class`` random images of every class of ``scheme``, one row per class."""

    rng = np.random.default_rng(seed)
    labels = np.asarray(labels)
    picks, titles, colors = [], [], []
    table = scheme_table(scheme)
    for k, cls in enumerate(scheme_classes(scheme)):
        idx = np.flatnonzero(labels == k)
        chosen = rng.choice(idx, size=min(per_class, len(idx)), replace=False) if len(idx) else []
        for i in chosen:
            picks.append(images[i])
            titles.append(f"{cls} {table.loc[cls, 'name']}")
            colors.append(class_color(cls))
        for _ in range(per_class - len(chosen)):  # keep one row per class
            picks.append(np.full(images.shape[1:], 255, dtype=np.uint8))
            titles.append(f"{cls}: none" if not len(chosen) else "")
            colors.append("#999999")
    return plot_image_grid(
        np.array(picks),
        titles,
        ncols=per_class,
        colors=colors,
        suptitle=f"Beat images of every {scheme} class",
    )


def plot_class_balance(balance: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Images per class before and after augmentation (:func:`ecgutils.augment.class_balance`)."""
    ax = _axes(ax, (8, 3.6))
    x = np.arange(len(balance))
    colors = [class_color(c) for c in balance.index]
    ax.bar(
        x - 0.2,
        balance["before"],
        width=0.4,
        color=colors,
        alpha=0.45,
        edgecolor="black",
        linewidth=0.4,
        label="before",
    )
    bars = ax.bar(
        x + 0.2,
        balance["after"],
        width=0.4,
        color=colors,
        edgecolor="black",
        linewidth=0.4,
        label="after nine crops",
    )
    ax.bar_label(bars, labels=[f"{v:,}" for v in balance["after"]], fontsize=7, padding=1)
    ax.set_xticks(x, [f"{c}\n{n}" for c, n in zip(balance.index, balance["name"])], fontsize=8)
    ax.set_yscale("log")
    ax.set_ylabel("images (log scale)")
    ax.set_title("Class balance before and after the nine-crop augmentation")
    ax.legend(fontsize=8)
    return ax


def plot_trace_readback(image: np.ndarray, beat: np.ndarray, *, ax: Axes | None = None) -> Axes:
    """A beat image with the trace read back from it and the beat itself, rescaled to it."""

    ax = _axes(ax, (4, 4))
    size = image.shape[1]
    ax.imshow(image, cmap="gray", vmin=0, vmax=255, extent=(-0.5, size - 0.5, -0.5, size - 0.5))
    trace = trace_from_image(image)
    resampled = resample_beat(beat, size)
    ok = ~np.isnan(trace)
    slope, intercept = np.polyfit(resampled[ok], trace[ok], 1)
    r = np.corrcoef(trace[ok], resampled[ok])[0, 1]
    ax.plot(
        np.arange(size),
        slope * resampled + intercept,
        color="#D55E00",
        lw=1,
        label="beat, resampled",
    )
    ax.plot(np.arange(size)[ok], trace[ok], color="#0072B2", lw=1, ls="--", label="read back")
    ax.set_xlabel("column (pixel)")
    ax.set_ylabel("row from bottom (pixel)")
    ax.set_title(f"Read-back correlation r = {r:.4f}")
    ax.legend(fontsize=7, loc="lower right")
    return ax


def plot_confusion(
    metrics: dict | pd.DataFrame, *, normalize: bool = True, ax: Axes | None = None
) -> Axes:
    """Confusion matrix heat map (rows: true class; normalised rows sum to 100%).

    ``metrics``: the metrics of :func:`ecgutils.evaluate.classification_metrics`, or the counts
    themselves as :func:`ecgutils.evaluate.confusion_frame` gives them (a stored result's table).
    """

    if isinstance(metrics, pd.DataFrame):
        counts = metrics.astype(float)
        totals = counts.sum(axis=1).replace(0, np.nan)
        rows = counts.div(totals, axis=0).fillna(0.0)
        metrics = {"n": int(counts.to_numpy().sum())}
    else:
        counts = confusion_frame(metrics)
        rows = confusion_frame(metrics, normalize=True)
    shown = rows * 100 if normalize else counts
    ax = _axes(ax, (6.2, 5.2))
    annot = shown.map(lambda v: f"{v:.1f}" if normalize else f"{v:.0f}")
    sns.heatmap(
        shown,
        ax=ax,
        annot=annot,
        fmt="",
        cmap="Blues",
        vmin=0,
        vmax=100 if normalize else None,
        linewidths=0.3,
        linecolor="white",
        cbar_kws={"label": "% of the true class" if normalize else "beats"},
    )
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    kind = "normalised by true class (%)" if normalize else "counts"
    ax.set_title(f"Confusion matrix, {kind}: {metrics['n']:,} test beats")
    return ax


def plot_learning_curves(history: pd.DataFrame) -> plt.Figure:
    """Loss and accuracy per epoch, training and validation (a Keras CSV history)."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4), layout="constrained")
    epochs = np.arange(1, len(history) + 1)
    for ax, metric in zip(axes, ["loss", "accuracy"]):
        ax.plot(epochs, history[metric], "o-", label="training")
        if f"val_{metric}" in history:
            ax.plot(epochs, history[f"val_{metric}"], "s--", label="validation")
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric if metric == "loss" else "accuracy (fraction)")
        ax.set_title(f"{metric.capitalize()} per epoch")
        ax.legend()
    if "val_loss" in history:
        best = int(history["val_loss"].to_numpy().argmin()) + 1
        axes[0].axvline(best, color="#D55E00", lw=0.8, ls=":", label="best")
    return fig


def error_gallery(
    images: np.ndarray,
    y_true: np.ndarray,
    y_pred: np.ndarray,
    scheme: str,
    *,
    n: int = 16,
    true_class: str | None = None,
    pred_class: str | None = None,
    seed: int = 0,
) -> plt.Figure:
    """Misclassified beats, titled "true -> predicted", optionally of one true/predicted class."""

    classes = scheme_classes(scheme)
    wrong = np.asarray(y_true) != np.asarray(y_pred)
    if true_class is not None:
        wrong &= np.asarray(y_true) == classes.index(true_class)
    if pred_class is not None:
        wrong &= np.asarray(y_pred) == classes.index(pred_class)
    idx = np.flatnonzero(wrong)
    rng = np.random.default_rng(seed)
    idx = np.sort(rng.choice(idx, size=min(n, len(idx)), replace=False)) if len(idx) else idx
    if not len(idx):
        fig, ax = plt.subplots(figsize=(4, 1), layout="constrained")
        ax.set_axis_off()
        ax.text(0.5, 0.5, "no misclassified beats here", ha="center", va="center")
        return fig
    titles = [f"{classes[y_true[i]]} -> {classes[y_pred[i]]}" for i in idx]
    colors = [class_color(classes[y_true[i]]) for i in idx]
    return plot_image_grid(
        images[idx],
        titles,
        ncols=8,
        colors=colors,
        suptitle=f"{int(wrong.sum())} misclassified beats (true -> predicted)",
    )


def plot_per_record(table: pd.DataFrame, *, target: float | None = None) -> plt.Figure:
    """Accuracy of every test record (:func:`ecgutils.evaluate.per_record_table`), with its S
    and V sensitivity beside it, worst record first."""
    table = table.sort_values("accuracy (%)")
    fig, (ax1, ax2) = plt.subplots(
        2, 1, figsize=(10, 6), sharex=True, layout="constrained", height_ratios=(1, 1)
    )
    x = np.arange(len(table))
    ax1.bar(x, table["accuracy (%)"], color=class_color("N"))
    if target is not None:
        ax1.axhline(target, color="black", linestyle="--", linewidth=1, label=f"{target:g}%")
        ax1.legend(loc="lower right")
    ax1.set_ylabel("accuracy (%)")
    ax1.set_ylim(max(0, table["accuracy (%)"].min() - 5), 100)
    ax1.set_title("Per test patient: overall accuracy (top), S and V sensitivity (bottom)")
    for k, c in enumerate(("S", "V")):
        has = table[f"{c} beats"] >= 10
        ax2.bar(
            x[has] + (k - 0.5) * 0.4, table.loc[has, f"{c} Se (%)"], width=0.4,
            color=class_color(c), label=f"{c} Se (records with >= 10 {c} beats)",
        )  # fmt: skip
    ax2.set_ylabel("sensitivity (%)")
    ax2.set_ylim(0, 100)
    ax2.set_xticks(x, table.index, rotation=90)
    ax2.set_xlabel("record (patient)")
    ax2.legend(loc="lower right", fontsize="small")
    return fig


def plot_ablation(table: pd.DataFrame, targets: dict | None = None) -> plt.Figure:
    """S and V sensitivity and positive predictivity, and accuracy, of each ablation step
    (:func:`ecgutils.experiments.interpatient_ablation`), with dashed target lines."""
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.2), sharey=True, layout="constrained")
    y = np.arange(len(table))[::-1]
    panels = [
        ("S", ["S Se (%)", "S +P (%)"]),
        ("V", ["V Se (%)", "V +P (%)"]),
        ("all", ["accuracy (%)"]),
    ]
    for ax, (cls, cols) in zip(axes, panels):
        for k, col in enumerate(cols):
            color = class_color(cls) if cls != "all" else class_color("N")
            alpha = 1.0 if k == 0 else 0.5
            ax.barh(y + (0.2 if len(cols) == 2 else 0) - 0.4 * k, table[col], height=0.4,
                    color=color, alpha=alpha, label=col)  # fmt: skip
            key = {"Se": "se", "+P": "ppv"}.get(col.split()[1]) if cls != "all" else "accuracy"
            name = f"{cls} {key}" if cls != "all" else "accuracy"
            if targets and name in targets:
                ax.axvline(100 * targets[name], color=color, alpha=alpha, linestyle="--")
        ax.set_xlim(0, 100)
        ax.set_xlabel("%")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=2, fontsize="small")
        ax.set_title({"S": "S (supraventricular)", "V": "V (ventricular)"}.get(cls, "overall"))
    axes[0].set_yticks(y, table.index)
    fig.suptitle("DS1 -> DS2, one step at a time (dashed: targets)")
    return fig


def plot_feature_sets(table: pd.DataFrame, targets: dict | None = None) -> plt.Figure:
    """S and V sensitivity and positive predictivity of each feature set
    (:func:`ecgutils.features.feature_set_table`): on DS1 patient folds (pale) and on DS2
    (solid), with dashed target lines, so a choice made on DS1 can be checked against DS2."""
    panels = [("S", "Se", "se"), ("S", "+P", "ppv"), ("V", "Se", "se"), ("V", "+P", "ppv")]
    fig, axes = plt.subplots(1, 4, figsize=(14, 0.5 * len(table) + 2.2), sharey=True,
                             layout="constrained")  # fmt: skip
    y = np.arange(len(table))[::-1]
    for ax, (cls, stat, key) in zip(axes, panels):
        color = class_color(cls)
        for k, where in enumerate(("DS1 folds", "DS2")):
            col = f"{where} {cls} {stat} (%)"
            values = table[col].to_numpy(float) if col in table.columns else np.full(len(y), np.nan)
            ax.barh(y + 0.2 - 0.4 * k, np.nan_to_num(values), height=0.4, color=color,
                    alpha=0.4 if k == 0 else 1.0, label=where)  # fmt: skip
        if targets and f"{cls} {key}" in targets:
            ax.axvline(100 * targets[f"{cls} {key}"], color="black", linestyle="--", lw=1)
        ax.set_xlim(0, 100)
        ax.set_xlabel(f"{cls} {stat} (%)")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=2, fontsize="small")
    axes[0].set_yticks(y, table.index)
    fig.suptitle("Feature sets for new patients: DS1 patient folds (pale) and DS2 (solid); "
                 "dashed: targets")  # fmt: skip
    return fig


def plot_split_comparison(table: pd.DataFrame) -> plt.Figure:
    """Accuracy, S and V sensitivity of one model under several evaluation protocols."""
    cols = [c for c in ("accuracy (%)", "S Se (%)", "V Se (%)", "S +P (%)", "V +P (%)")
            if c in table.columns]  # fmt: skip
    fig, ax = plt.subplots(figsize=(9, 4), layout="constrained")
    width = 0.8 / len(table)
    x = np.arange(len(cols))
    for k, (name, row) in enumerate(table[cols].iterrows()):
        ax.bar(x + k * width - 0.4 + width / 2, row.to_numpy(float), width=width, label=name)
    ax.set_xticks(x, cols)
    ax.set_ylabel("%")
    ax.set_ylim(0, 100)
    ax.legend(loc="lower left", fontsize="small")
    ax.set_title("The same model, graded three ways: seen patients vs new patients")
    return fig


def plot_trace_difference(
    images: np.ndarray,
    template: np.ndarray,
    titles: list[str],
    *,
    window_s: tuple[float, float] = FIXED_WINDOW_S,
) -> plt.Figure:
    """What the inter-patient trees see: each beat's read-back trace beside its template's.

    Parameters
    ----------
    images : (k, size, size) uint8 array
        Beats of one record drawn in a fixed window in the patient's units.
    template : (size, size) uint8 array
        The record's template image.
    titles : list of k str
        One per beat (its class, say); the first letter picks the colour.
    window_s : (before, after) float, s
        The window the images were cut with (:data:`ecgutils.segment.FIXED_WINDOW_S`).
    """

    size = template.shape[-1]
    t_ms = 1000 * np.linspace(-window_s[0], window_s[1], size)
    ref = trace_from_image(template)
    fig, axes = plt.subplots(
        2, len(images), figsize=(3.2 * len(images), 5), sharex=True, sharey="row",
        layout="constrained", squeeze=False,
    )  # fmt: skip
    for k, (img, title) in enumerate(zip(images, titles)):
        color = class_color(title[:1])
        trace = trace_from_image(img)
        top, bottom = axes[0, k], axes[1, k]
        top.plot(t_ms, ref, color="0.6", label="template")
        top.plot(t_ms, trace, color=color, label="beat")
        top.set_title(title)
        bottom.plot(t_ms, trace - ref, color=color)
        bottom.axhline(0, color="0.6", linewidth=0.8)
        bottom.set_xlabel("time from R (ms)")
    axes[0, 0].set_ylabel("height (pixels)")
    axes[1, 0].set_ylabel("beat - template (pixels)")
    axes[0, 0].legend(fontsize="small")
    fig.suptitle("Read back from the images: each beat against the patient's template")
    return fig


def plot_beat_against_template(
    image: np.ndarray,
    template: np.ndarray,
    title: str,
    *,
    window_s: tuple[float, float] = FIXED_WINDOW_S,
) -> plt.Figure:
    """One beat in its patient's units beside the patient's template, and the two read-back
    traces on one axis with their difference shaded (what the inter-patient trees read).

    ``image`` and ``template`` are (size, size) uint8, drawn in a fixed window (``window_s``
    before and after R) in the patient's units (:func:`ecgutils.render.patient_normalize`);
    the first letter of ``title`` picks the class colour.
    """

    size = template.shape[-1]
    t_ms = 1000 * np.linspace(-window_s[0], window_s[1], size)
    beat, ref = trace_from_image(image), trace_from_image(template)
    color = class_color(title[:1])
    fig, axes = plt.subplots(
        1, 3, figsize=(12, 3.6), layout="constrained", gridspec_kw={"width_ratios": [1, 1, 2.2]}
    )
    for ax, img, name in zip(axes[:2], (image, template), ("the beat", "the patient's template")):
        ax.imshow(img, cmap="gray", vmin=0, vmax=255)
        ax.set_title(name)
        ax.set_axis_off()
    ax = axes[2]
    ax.plot(t_ms, ref, color="0.55", label="template")
    ax.plot(t_ms, beat, color=color, label="beat")
    ax.fill_between(t_ms, ref, beat, color=color, alpha=0.25, label="beat - template")
    ax.set_xlabel("time from R (ms)")
    ax.set_ylabel("height (pixels, patient units)")
    ax.set_title(title)
    ax.legend(fontsize="small")
    return fig


def plot_prediction(
    signal: np.ndarray,
    fs: float,
    beats: pd.DataFrame,
    *,
    start_s: float = 0.0,
    duration_s: float = 10.0,
    ax: Axes | None = None,
) -> Axes:
    """A stretch of an ECG with each classified beat shaded and labelled in its class colour.

    Parameters
    ----------
    signal : (n,) float array, mV
    fs : float
        Its sampling rate, Hz.
    beats : DataFrame
        :attr:`ecgutils.predict.Prediction.beats` (``start``, ``end``, ``r`` in samples of
        ``signal``; ``class``).
    start_s, duration_s : float
        The stretch shown, seconds.
    """
    ax = _axes(ax, (13, 3.2))
    i0 = max(int(start_s * fs), 0)
    i1 = min(int((start_s + duration_s) * fs), len(signal))
    t = np.arange(i0, i1) / fs
    ax.plot(t, signal[i0:i1], color="black", linewidth=0.8)
    shown = beats[(beats["r"] >= i0) & (beats["r"] < i1)]
    top = float(np.max(signal[i0:i1])) if i1 > i0 else 1.0
    for start, end, r, cls in shown[["start", "end", "r", "class"]].itertuples(index=False):
        color = class_color(cls)
        ax.axvspan(max(start, i0) / fs, min(end, i1) / fs, color=color, alpha=0.18, lw=0)
        ax.axvline(start / fs, color=color, alpha=0.5, linewidth=0.6)  # where the beat begins
        ax.text(r / fs, top, cls, color=color, ha="center", va="bottom", fontweight="bold")
    ax.set_xlim(i0 / fs, max(i1, i0 + 1) / fs)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("ECG (mV)")
    counts = shown["class"].value_counts()
    ax.set_title(
        f"{len(shown)} beats from {start_s:.0f} s to {start_s + duration_s:.0f} s: "
        + ", ".join(f"{n} {c}" for c, n in counts.items())
    )
    return ax


def plot_heat_overlays(
    images: np.ndarray,
    heats: np.ndarray,
    titles: Iterable[str],
    *,
    rows: Iterable[str] = ("image", "Grad-CAM"),
    colors: Iterable[str] | None = None,
    suptitle: str | None = None,
    size_in: float = 1.6,
) -> plt.Figure:
    """Beat images above their heat maps (e.g. Grad-CAM), heat over the image in ``inferno``.

    Parameters
    ----------
    images : (n, size, size) uint8 array
        Beat images (255 = background).
    heats : (m, n, size, size) float array, or (n, size, size)
        One or more heat maps per image (Grad-CAM in [0, 1], occlusion drops in probability);
        each row is scaled to its own largest absolute value.
    titles : n str
    rows : str
        Label of the image row, then of each heat row.
    """
    images = np.asarray(images)
    heats = np.asarray(heats)
    if heats.ndim == 3:
        heats = heats[None]
    n = len(images)
    labels = list(rows)
    fig, axes = plt.subplots(
        1 + len(heats), n, figsize=(size_in * n, size_in * (1 + len(heats)) + 0.5),
        squeeze=False, layout="constrained",
    )  # fmt: skip
    titles = list(titles)
    colors = list(colors) if colors is not None else [class_color(t[:1]) for t in titles]
    for k in range(n):
        axes[0, k].imshow(images[k], cmap="gray", vmin=0, vmax=255, interpolation="nearest")
        axes[0, k].set_title(titles[k], fontsize=8, color=colors[k])
        for j, heat in enumerate(heats, start=1):
            top = float(np.abs(heat[k]).max()) or 1.0
            axes[j, k].imshow(images[k], cmap="gray", vmin=0, vmax=255, interpolation="nearest")
            axes[j, k].imshow(heat[k], cmap="inferno", vmin=0, vmax=top, alpha=0.6)
    for (j, k), ax in np.ndenumerate(axes):
        ax.set_xticks([])
        ax.set_yticks([])
        if k == 0:
            ax.set_ylabel(labels[j] if j < len(labels) else "", fontsize=9)
    if suptitle:
        fig.suptitle(suptitle)
    return fig


def plot_heat_on_beat(
    signal: np.ndarray,
    start: int,
    end: int,
    r: int,
    heat: np.ndarray,
    *,
    fs: float = 360.0,
    title: str = "",
    ax: Axes | None = None,
) -> Axes:
    """A beat's waveform in mV against time from R, coloured by the heat of its image columns,
    over the typical P / QRS / ST-T windows (:data:`ecgutils.classes.WAVE_WINDOWS`).

    Parameters
    ----------
    signal : (n_samples,) float array, mV
        The record's lead, sampled at ``fs``.
    start, end, r : int
        The beat's window (``end`` exclusive) and R peak, samples.
    heat : (size,) float array
        Heat per image column (:func:`ecgutils.explain.column_heat`).
    """
    from matplotlib.collections import LineCollection

    ax = _axes(ax, (6, 3))
    seg = np.asarray(signal[start:end], dtype=float)
    t = (np.arange(start, end) - r) / fs
    # each sample takes the heat of the image column it was drawn in
    col = ((np.arange(len(seg)) + 0.5) * len(heat) / len(seg)).astype(int)
    col = np.minimum(col, len(heat) - 1)
    h = np.asarray(heat, dtype=float)[col]
    pts = np.column_stack([1000 * t, seg])
    lines = LineCollection(np.stack([pts[:-1], pts[1:]], axis=1), cmap="inferno", linewidths=2.5)
    lines.set_array((h[:-1] + h[1:]) / 2)
    lines.set_clim(0, max(float(h.max()), 1e-9))
    ax.add_collection(lines)
    lo, hi = 1000 * t[0], 1000 * t[-1]
    shades = {"P": "#56B4E9", "QRS": "#CC79A7", "ST-T": "#009E73"}
    for name, color in shades.items():
        a, b = (1000 * v for v in WAVE_WINDOWS[name])
        ax.axvspan(max(a, lo), min(b, hi), color=color, alpha=0.12, lw=0)
        if min(b, hi) > max(a, lo):
            ax.text((max(a, lo) + min(b, hi)) / 2, 1.0, name, transform=ax.get_xaxis_transform(),
                    ha="center", va="bottom", fontsize=8, color=color)  # fmt: skip
    ax.set_xlim(lo, hi)
    pad = 0.1 * (seg.max() - seg.min() + 1e-6)
    ax.set_ylim(seg.min() - pad, seg.max() + pad)
    ax.set_xlabel("time from R (ms)")
    ax.set_ylabel("amplitude (mV)")
    ax.figure.colorbar(lines, ax=ax, label="heat (Grad-CAM)", fraction=0.05)
    if title:
        ax.set_title(title, pad=14)
    return ax


def plot_wave_shares(shares: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Mean share of the heat per wave window (columns) for each class (rows), as stacked bars.

    ``shares``: rows per class, columns the :data:`ecgutils.classes.WAVE_WINDOWS` names.
    """
    ax = _axes(ax, (7, 3.2))
    left = np.zeros(len(shares))
    palette = ["0.75", "#56B4E9", "#CC79A7", "#009E73", "0.55"]
    for color, name in zip(palette, shares.columns):
        vals = 100 * shares[name].to_numpy(dtype=float)
        ax.barh(shares.index.astype(str), vals, left=left, color=color, label=name)
        left += np.nan_to_num(vals)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("share of the Grad-CAM heat along the beat (%)")
    ax.set_ylabel("class")
    ax.legend(ncols=len(shares.columns), loc="upper center", bbox_to_anchor=(0.5, -0.22),
              fontsize=8, frameon=False)  # fmt: skip
    return ax


def plot_explanation(trained, beat: int, *, layer: str | None = None) -> plt.Figure:
    """One beat explained: its image, the Grad-CAM heat over it, and the heat on its waveform.

    Parameters
    ----------
    trained : :class:`ecgutils.train.TrainedModel`
        A course model and its data set.
    beat : int
        Index into the model's data set.
    layer : str, optional
        Convolution layer for Grad-CAM (default: the last).
    """
    from .explain import (  # deferred: ecgutils.explain loads TensorFlow
        column_heat,
        grad_cam,
        model_inputs,
    )

    ds, cfg = trained.dataset, trained.config
    classes = scheme_classes(cfg.scheme)
    inputs = model_inputs(trained, np.array([beat]))
    heat, cls = grad_cam(trained.model, inputs, layer=layer)
    probs = np.asarray(trained.model.predict(inputs if cfg.rr else inputs["image"], verbose=0))[0]
    row = ds.beats.iloc[beat]
    truth = ds.labels(cfg.scheme)[beat]
    true_name = classes[truth] if truth >= 0 else row["symbol"]
    pred_name = classes[int(cls[0])]
    rec = load_record(str(row["record"]))
    fig = plt.figure(figsize=(10, 3.2), layout="constrained")
    grid = fig.add_gridspec(1, 4)
    a0, a1, a2 = fig.add_subplot(grid[0]), fig.add_subplot(grid[1]), fig.add_subplot(grid[2:])
    image = ds.images[beat]
    a0.imshow(image, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
    a0.set_title(f"true {true_name}", fontsize=9, color=class_color(true_name))
    a1.imshow(image, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
    a1.imshow(heat[0], cmap="inferno", vmin=0, vmax=1, alpha=0.6)
    a1.set_title(f"predicted {pred_name} ({probs[int(cls[0])]:.0%})", fontsize=9,
                 color=class_color(pred_name))  # fmt: skip
    for ax in (a0, a1):
        ax.set_xticks([])
        ax.set_yticks([])
    plot_heat_on_beat(
        rec.signal, int(row["start"]), int(row["end"]), int(row["r"]),
        column_heat(heat, image[None])[0], fs=rec.fs, ax=a2,
    )  # fmt: skip
    fig.suptitle(
        f"Record {row['record']}, beat at sample {int(row['r'])}: what "
        f"{trained.model.name} looks at (layer {layer or 'last conv'})"
    )
    return fig


def pipeline_window(record: Record, duration_s: float = 6.0) -> float:
    """Start (s) of the first ``duration_s`` stretch of ``record`` whose reference beats include
    a PVC and another class (the course's pipeline figure); 0 if there is none."""
    sample, symbol = record.beats.sample, np.asarray(record.beats.symbol)
    for s in sample[symbol == "V"]:
        start = max(0.0, s / record.fs - duration_s / 2)
        inside = (sample >= start * record.fs) & (sample < (start + duration_s) * record.fs)
        if len(set(symbol[inside])) >= 2:
            return float(start)
    return 0.0


def plot_pipeline(
    answer: Prediction, model: DeployedModel, record: Record, start_s: float
) -> plt.Figure:
    """The whole method on real data, in one figure: deployment's ``answer`` for a strip of
    ``record`` drawn stage by stage: the strip with the R peaks found, three beats cut from it,
    their images, the nine crops of one image, and the classes predicted against the reference.

    Parameters
    ----------
    answer : :class:`ecgutils.predict.Prediction`
        :func:`ecgutils.predict.predict_ecg` of the strip (the figure computes no answer).
    model : :class:`ecgutils.predict.DeployedModel`
        The model that answered (its card says how beats were drawn).
    record : :class:`ecgutils.data.Record`
        The record the strip was cut from (its reference beats and sampling rate).
    start_s : float, s
        Where the strip starts in the record (e.g. :func:`pipeline_window`).
    """
    card = model.card
    strip = answer.ecg.signal
    a = int(start_s * record.fs)
    pred = answer.beats.rename(columns={"class": "cls"})  # "class" cannot be an attribute name
    ref_samples = record.beats.sample - a
    match = match_to_reference(ref_samples, pred["r"].to_numpy(), record.fs)
    truth = np.full(len(pred), "?", dtype=object)
    for i_ref, i_pred in enumerate(match):
        if i_pred >= 0:
            truth[i_pred] = record.beats.symbol[i_ref]
    # three consecutive beats around the first one predicted as something other than N, away
    # from the strip's ends (its first and last beat are cut short there: column "edge")
    inner = np.flatnonzero(~pred["edge"].to_numpy())
    lo, hi = (int(inner[0]), int(inner[-1])) if len(inner) else (0, len(pred) - 1)
    odd = np.flatnonzero((pred["cls"].to_numpy() != "N") & ~pred["edge"].to_numpy())
    centre = int(odd[0]) if len(odd) else len(pred) // 2
    first = int(np.clip(centre - 1, lo, max(hi - 2, lo)))
    three = pred.iloc[first : first + 3]
    images = render_beats(
        strip, three["start"].to_numpy(), three["end"].to_numpy(), size=card["image_size"],
        line_width=card["line_width"], scale=card["scale"],
    )  # fmt: skip
    k_crop = int(np.argmax(three["cls"].to_numpy() != "N")) if len(odd) else 1
    crops = nine_crops(images[k_crop])
    rec = record

    fig = plt.figure(figsize=(12, 8.2), layout="constrained")
    grid = fig.add_gridspec(3, 6, height_ratios=[1.2, 1.0, 1.3])
    ax = fig.add_subplot(grid[0, :])
    t = np.arange(len(strip)) / rec.fs + start_s
    ax.plot(t, strip, color="0.2", linewidth=0.8)
    for row in pred.itertuples():
        ax.plot(t[row.r], strip[row.r], "v", color=class_color(row.cls), markersize=7)
        ax.annotate(f"{row.cls}", (t[row.r], strip[row.r]), textcoords="offset points",
                    xytext=(0, 8), ha="center", fontsize=8, color=class_color(row.cls))  # fmt: skip
    for row in three.itertuples():
        ax.axvspan(t[row.start], t[row.end - 1], color="#56B4E9", alpha=0.15, lw=0)
    ax.set_xlim(t[0], t[-1])
    ax.set_xlabel("time (s)")
    ax.set_ylabel(f"{rec.lead} (mV)")
    ax.set_title(
        f"1 · Record {rec.name}: R peaks found ({DEFAULT_DETECTOR}), each marked with the class "
        "the shipped model predicts; shaded: the three beats below"
    )
    for j, row in enumerate(three.itertuples()):
        bx = fig.add_subplot(grid[1, 2 * j : 2 * j + 2])
        seg = strip[row.start : row.end]
        tt = 1000 * (np.arange(row.start, row.end) - row.r) / rec.fs
        bx.plot(tt, seg, color=class_color(row.cls))
        bx.axvline(0, color="0.6", linewidth=0.8, linestyle=":")
        bx.set_xlabel("time from R (ms)")
        if j == 0:
            bx.set_ylabel("mV")
        bx.set_title(f"2 · beat {row.beat}: samples {row.start + a}-{row.end - 1 + a}", fontsize=9)
    sub = grid[2, :3].subgridspec(1, 3)
    for j, row in enumerate(three.itertuples()):
        ix = fig.add_subplot(sub[j])
        ix.imshow(images[j], cmap="gray", vmin=0, vmax=255, interpolation="nearest")
        ix.set_xticks([])
        ix.set_yticks([])
        ref = truth[first + j]
        ix.set_title(
            f"3 · predicted {row.cls} ({row.probability:.2f})\nreference {ref}",
            fontsize=9, color=class_color(row.cls),
        )  # fmt: skip
    cg = grid[2, 4:].subgridspec(3, 3, wspace=0.02, hspace=0.08)
    for c in range(9):
        cx = fig.add_subplot(cg[c // 3, c % 3])
        cx.imshow(crops[c], cmap="gray", vmin=0, vmax=255, interpolation="nearest")
        cx.set_xticks([])
        cx.set_yticks([])
        if c == 1:
            cx.set_title(f"4 · nine crops of beat {three.iloc[k_crop]['beat']} (training only)",
                         fontsize=9)  # fmt: skip
    fig.suptitle(
        f"The method on real data: ECG -> R peaks -> beats -> {card['image_size']}x"
        f"{card['image_size']} images (-> crops) -> CNN -> class",
        fontsize=12,
    )
    return fig


def primer_beats(records: Iterable[Record], classes: Iterable[str] = tuple(CLASS_SIGNS)) -> dict:
    """One typical beat of each class: {symbol: (record, sample of its R peak)}.

    Among the beats of a class (with a beat before and after it) in ``records``, the one closest to
    the class's median waveform (0.4 s before R to 0.6 s after), so the example shows what most
    beats of the class look like. Classes absent from ``records`` are left out.
    """
    wanted = list(classes)
    found: dict[str, list] = {c: [] for c in wanted}
    for rec in records:
        lo, hi = int(0.4 * rec.fs), int(0.6 * rec.fs)
        sample, symbol = rec.beats.sample, rec.beats.symbol
        for k in range(1, len(sample) - 1):
            s = int(sample[k])
            if symbol[k] in found and s - lo >= 0 and s + hi <= len(rec.signal):
                found[symbol[k]].append((rec, s, rec.signal[s - lo : s + hi]))
    out = {}
    for c in wanted:
        if not found[c]:
            continue
        waves = np.stack([w for _, _, w in found[c]])
        best = int(np.argmin(((waves - np.median(waves, axis=0)) ** 2).sum(axis=1)))
        out[c] = found[c][best][:2]
    return out


def plot_beat_primer(examples: dict, *, ncols: int = 4) -> plt.Figure:
    """Each class's typical beat in mV against ms from its R peak, the typical P, QRS and ST-T
    windows shaded (:data:`ecgutils.classes.WAVE_WINDOWS`), the RR interval before it marked,
    and what sets the class apart (:data:`ecgutils.classes.CLASS_SIGNS`) in its title.

    ``examples``: {symbol: (record, R-peak sample)}, e.g. from :func:`primer_beats`.
    """
    import textwrap

    n = len(examples)
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(4.2 * ncols, 3.6 * nrows), layout="constrained", squeeze=False
    )
    shades = {"P": "#fdd49e", "QRS": "#c6dbef", "ST-T": "#d9f0d3"}
    for ax, (cls, (rec, r)) in zip(axes.flat, examples.items()):
        k = int(np.searchsorted(rec.beats.sample, r))
        prev = int(rec.beats.sample[k - 1])
        rr_ms = 1000 * (r - prev) / rec.fs
        start = max(prev - int(0.15 * rec.fs), 0)
        stop = min(r + int(0.55 * rec.fs), len(rec.signal))
        t = 1000 * (np.arange(start, stop) - r) / rec.fs
        y = rec.signal[start:stop]
        for wave, color in shades.items():
            a, b = (1000 * v for v in WAVE_WINDOWS[wave])
            ax.axvspan(a, b, color=color, alpha=0.6, lw=0)
            ax.text((a + b) / 2, 0.98, wave, transform=ax.get_xaxis_transform(), ha="center",
                    va="top", fontsize=8)  # fmt: skip
        ax.plot(t, y, color=class_color(cls), lw=1.3)
        top = y.max()
        ax.annotate("", xy=(0, top), xytext=(-rr_ms, top),
                    arrowprops={"arrowstyle": "<->", "color": "0.3", "lw": 0.8})  # fmt: skip
        ax.text(-rr_ms / 2, top, f"RR {rr_ms:.0f} ms", ha="center", va="bottom", fontsize=8)
        ax.axvline(-rr_ms, color="0.5", lw=0.6, ls=":")
        ax.set_ylim(y.min() - 0.1, top + 0.35 * (top - y.min() + 0.1))
        ax.set_title(f"{cls}: record {rec.name}, {r / rec.fs:.1f} s\n"
                     + "\n".join(textwrap.wrap(CLASS_SIGNS.get(cls, ""), 48)), fontsize=8.5,
                     loc="left")  # fmt: skip
        ax.set_xlabel("ms from the R peak")
        ax.set_ylabel(f"{rec.lead} (mV)")
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    fig.suptitle("The beats of every class: P wave, QRS complex, ST-T and the RR interval before")
    return fig
