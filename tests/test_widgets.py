"""ecgutils.widgets: the record browser wires its controls to plot_record_strip."""

from __future__ import annotations

import matplotlib.pyplot as plt

from ecgutils import widgets


def test_record_browser_updates_leads_and_limits(mitdb_ready, monkeypatch):
    drawn = []
    real = widgets.plot_record_strip

    def spy(rec, start, window):
        drawn.append((rec.name, rec.lead, start, window))
        return real(rec, start, window)

    monkeypatch.setattr(widgets, "plot_record_strip", spy)
    box = widgets.record_browser(["100", "207"], window_s=5.0)
    (w_record, w_lead, w_window), w_start = box.children[0].children, box.children[1]
    assert drawn[-1] == ("100", "MLII", 0.0, 5.0)
    assert tuple(w_lead.options) == ("MLII", "V5")
    w_record.value = "207"
    assert drawn[-1][:2] == ("207", "MLII") and tuple(w_lead.options) == ("MLII", "V1")
    w_lead.value = "V1"
    assert drawn[-1][:2] == ("207", "V1")
    w_window.value = 20.0
    assert w_start.max == 650000 / 360 - 20.0
    w_start.value = 100.0
    assert drawn[-1] == ("207", "V1", 100.0, 20.0)
    assert plt.get_fignums() == []  # every figure drawn was closed
