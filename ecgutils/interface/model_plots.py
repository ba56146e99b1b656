"""Figures of what the models do: training, evaluation, new patients, deployment, explanation.

The figures of chapters 06-11, in the course's class palette (:mod:`.plotting`)."""

from __future__ import annotations

from collections.abc import Iterable

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes

from ..classes import WAVE_WINDOWS, scheme_classes
from ..data import load_record
from ..evaluate import confusion_frame
from ..render import trace_from_image
from ..segment import FIXED_WINDOW_S
from .plotting import _axes, class_color, plot_image_grid


def plot_s_operating_points(
    table: pd.DataFrame,
    threshold: float,
    *,
    argmax: dict | None = None,
    targets: dict | None = None,
    ax: Axes | None = None,
) -> Axes:
    """S sensitivity against S positive predictivity as the S threshold moves
    (:func:`ecgutils.interface.explore.s_operating_points`), the chosen threshold marked, the target
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
    signal : (n,) float array, mV, or a recording (``read(a, b)`` and ``n_samples``: an
        :class:`~ecgutils.deploy.ecgfile.ECG` or a :class:`~ecgutils.deploy.recording.Recording`,
        of which only the stretch shown is read)
    fs : float
        Its sampling rate, Hz.
    beats : DataFrame
        :attr:`ecgutils.deploy.predict.Prediction.beats` (``start``, ``end``, ``r`` in samples of
        ``signal``; ``class``).
    start_s, duration_s : float
        The stretch shown, seconds.
    """
    ax = _axes(ax, (13, 3.2))
    n = signal.n_samples if hasattr(signal, "read") else len(signal)
    i0 = max(int(start_s * fs), 0)
    i1 = min(int((start_s + duration_s) * fs), n)
    x = signal.read(i0, i1) if hasattr(signal, "read") else np.asarray(signal)[i0:i1]
    t = np.arange(i0, i1) / fs
    ax.plot(t, x, color="black", linewidth=0.8)
    shown = beats[(beats["r"] >= i0) & (beats["r"] < i1)]
    top = float(np.max(x)) if i1 > i0 else 1.0
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


def plot_heart_rate(hours: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Heart rate hour by hour, as a Holter report draws it: the minimum and maximum of each
    hour's minute rates as a bar, its mean as a point.

    Parameters
    ----------
    hours : DataFrame
        :attr:`ecgutils.deploy.holter.HolterSummary.hours` (one row per hour: ``HR min``,
        ``HR mean``, ``HR max`` in bpm; ``minutes`` covered).
    """
    ax = _axes(ax, (9, 3.2))
    h = hours.index.to_numpy(dtype=float) + np.minimum(hours["minutes"].to_numpy(), 60) / 120
    lo, mean, hi = (hours[c].to_numpy(dtype=float) for c in ("HR min", "HR mean", "HR max"))
    ax.vlines(h, lo, hi, color="tab:red", linewidth=6, alpha=0.35, label="minute rates, min to max")
    ax.plot(h, mean, "o-", color="tab:red", markersize=4, label="mean")
    ax.set_xlabel("hour of the recording")
    ax.set_ylabel("heart rate (bpm)")
    ax.set_xlim(0, max(len(hours), 1))
    ok = np.isfinite(mean)
    ax.set_title(
        f"Heart rate per hour: mean {np.nanmean(mean):.0f} bpm, minute rates {np.nanmin(lo):.0f}"
        f" to {np.nanmax(hi):.0f} bpm"
        if ok.any()
        else "Heart rate per hour: too few beats"
    )
    ax.legend(loc="upper right", fontsize=8)
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
    from ..explain import (  # deferred: ecgutils.explain loads TensorFlow
        column_heat,
        grad_cam,
        trained_inputs,
    )

    ds, cfg = trained.dataset, trained.config
    classes = scheme_classes(cfg.scheme)
    inputs = trained_inputs(trained, np.array([beat]))
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
