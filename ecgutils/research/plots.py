"""Figures of the research studies: the ablation and the feature-set table."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..interface.plotting import class_color


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
