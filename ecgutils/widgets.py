"""Thin ipywidgets front-ends. Each one only wires controls to a plain, tested function."""

from __future__ import annotations

import ipywidgets as widgets
import matplotlib.pyplot as plt
from IPython.display import display

from .config import MITDB_RECORDS
from .data import Record, load_record
from .plotting import plot_record_strip


def record_browser(
    records=MITDB_RECORDS, *, record: str | None = None, window_s: float = 10.0
) -> widgets.VBox:
    """Browse MIT-BIH records: choose record, lead, start time and window length.

    Draws with :func:`ecgutils.plotting.plot_record_strip`. Records are loaded (and fetched
    if missing) on first use and kept for the session.
    """
    records = [str(r) for r in records]
    cache: dict[tuple[str, str], Record] = {}

    def get(name: str, lead: str | int) -> Record:
        key = (name, str(lead))
        if key not in cache:
            cache[key] = load_record(name, lead)
        return cache[key]

    first = get(record or records[0], "MLII")
    w_record = widgets.Dropdown(options=records, value=first.name, description="record")
    w_lead = widgets.Dropdown(options=first.leads, value=first.lead, description="lead")
    w_window = widgets.FloatSlider(
        value=window_s,
        min=1.0,
        max=60.0,
        step=1.0,
        description="window (s)",
        continuous_update=False,
    )
    w_start = widgets.FloatSlider(
        value=0.0,
        min=0.0,
        max=first.duration_s - window_s,
        step=0.5,
        description="start (s)",
        continuous_update=False,
        layout=widgets.Layout(width="60%"),
    )
    out = widgets.Output()

    def redraw(*_):
        rec = get(w_record.value, w_lead.value)
        w_start.max = max(rec.duration_s - w_window.value, 0.0)
        with out:
            out.clear_output(wait=True)
            ax = plot_record_strip(rec, w_start.value, w_window.value)
            display(ax.figure)
            plt.close(ax.figure)

    def record_changed(change):
        rec = get(change["new"], "MLII")
        with w_lead.hold_trait_notifications():
            w_lead.options = rec.leads
            w_lead.value = rec.lead
        redraw()

    w_record.observe(record_changed, names="value")
    for w in (w_lead, w_start, w_window):
        w.observe(redraw, names="value")
    redraw()
    controls = widgets.HBox([w_record, w_lead, w_window])
    return widgets.VBox([controls, w_start, out])
