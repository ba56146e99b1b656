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

from ..augment import nine_crops
from ..classes import CLASS_SIGNS, SCHEMES, WAVE_WINDOWS, scheme_classes, scheme_table, symbol_map
from ..data import Record, count_classes
from ..deploy.predict import DEFAULT_DETECTOR, DeployedModel, Prediction
from ..detect import match_detections
from ..render import render_beats, resample_beat, trace_from_image
from ..segment import match_to_reference

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
    answer : :class:`ecgutils.deploy.predict.Prediction`
        :func:`ecgutils.deploy.predict.predict_ecg` of the strip (the figure computes no answer).
    model : :class:`ecgutils.deploy.predict.DeployedModel`
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
