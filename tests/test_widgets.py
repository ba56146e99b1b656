"""ecgutils.interface.widgets: the record browser wires its controls to plot_record_strip."""

from __future__ import annotations

import matplotlib.pyplot as plt

from ecgutils.interface import widgets


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


def test_beat_stepper_steps_through_a_class_on_any_record(mitdb_ready):
    from ecgutils.data import load_record

    rec = load_record(100)
    box = widgets.beat_stepper(rec, records=["100", "207"])
    (w_record, w_class, w_prev, w_next), w_beat = box.children[0].children, box.children[1]
    assert [v for _, v in w_class.options] == ["all", "N", "A", "V"]  # what record 100 holds
    assert w_class.options[2][0] == "A (33)"
    w_class.value = "V"  # jumps to the only PVC of record 100
    v_row = int((widgets.segment_record(rec, "seed")["symbol"] == "V").to_numpy().argmax())
    assert w_beat.value == v_row
    w_next.click()  # only one PVC: wraps around to it
    assert w_beat.value == v_row
    w_class.value = "all"
    w_beat.value = 10
    w_prev.click()
    assert w_beat.value == 9
    w_record.value = "207"  # another record: its classes, from its first beat
    assert "L" in [v for _, v in w_class.options] and w_beat.value == 0
    assert w_beat.max == len(widgets.segment_record(load_record(207), "seed")) - 1
    assert plt.get_fignums() == []


def test_render_and_crop_explorers(mitdb_ready, monkeypatch):
    import numpy as np

    from ecgutils.data import load_record
    from ecgutils.interface import explore

    drawn = []
    real = explore.record_images

    def spy(rec, table, rows, **options):
        drawn.append((rec.name, len(table), list(rows), options["size"], options["scale"]))
        return real(rec, table, rows, **options)

    monkeypatch.setattr(widgets, "record_images", spy)
    box = widgets.render_explorer(load_record(207), records=["100", "207"])
    (w_record, w_class, w_beat), w_rule, (w_size, w_width), w_scale = (
        box.children[0].children, box.children[1], box.children[2].children, box.children[3],
    )  # fmt: skip
    assert drawn[-1][3:] == (48, "minmax")  # the standard profile's images by default
    assert w_class.value == "L" and w_class.options[0][0].startswith("L (")
    w_class.value = "V"
    v_rows = explore.class_rows(widgets.segment_record(load_record(207), "seed"))["V"]
    w_beat.value = 3
    assert drawn[-1][2] == [int(v_rows[3])]
    w_scale.value = "patient"
    w_size.value = 32
    assert drawn[-1][3:] == (32, "patient")
    w_rule.value = "fixed"
    assert w_class.value == "V" and w_beat.value == 0
    before = len(drawn)
    w_width.value = 2.0
    assert len(drawn) == before + 1
    w_record.value = "100"
    assert drawn[-1][0] == "100" and w_class.value == "V" and w_beat.max == 0
    images = np.full((6, 16, 16), 255, dtype=np.uint8)
    box = widgets.crop_explorer(images, np.array([0, 4, 4, 7, -1, 0]), "paper8")
    w_class, w_beat = box.children[0].children
    assert list(w_class.options) == ["N", "V", "!"] and w_beat.max == 1
    w_class.value = "!"
    assert w_beat.max == 0
    assert plt.get_fignums() == []


def test_detector_explorer_redraws_for_each_decision(mitdb_ready, monkeypatch):
    from ecgutils.interface import plotting

    drawn = []
    real = plotting.plot_detections

    def spy(rec, peaks, start, window, *, title, ax):
        drawn.append((rec.name, len(peaks), start, title))
        return real(rec, peaks, start, window, title=title, ax=ax)

    monkeypatch.setattr(widgets, "plot_detections", spy)
    box = widgets.detector_explorer(["100", "207"], record="207", start_s=60.0)
    (w_record, w_method, w_refine), (w_rate,), w_start = (
        box.children[0].children, box.children[1].children, box.children[2],
    )  # fmt: skip
    assert drawn[-1][0] == "207" and "pantompkins, without the T-wave check, 360 Hz" in drawn[-1][3]
    assert [v for _, v in w_rate.options] == [128.0, 250.0, 360.0, 500.0, 1000.0]
    w_method.value = "christov"
    w_refine.value = True
    w_rate.value = 128.0
    assert drawn[-1][3] == "christov, with the T-wave check, 128 Hz passed"
    w_record.value = "100"
    assert drawn[-1][0] == "100" and w_rate.value == 360.0 and w_start.value == 60.0
    assert plt.get_fignums() == []


def test_error_browser_shows_where_and_when_each_mistake_is(mitdb_ready):
    import numpy as np

    from ecgutils.dataset import build_dataset

    ds = build_dataset("quick", progress=False)
    index = np.arange(0, 400)
    y_true = ds.labels("paper8")[index]
    probs = np.full((len(index), 8), 0.01)
    probs[np.arange(len(index)), y_true] = 0.9
    probs[[5, 7], 0], probs[[5, 7], 4] = 0.01, 0.95  # two normal beats called V
    probs[9, 4] = 0.6  # and a less confident one
    probs[9, 0] = 0.3
    classes = ["N", "L", "R", "A", "V", "/", "E", "!"]
    box = widgets.error_browser(ds, index, y_true, probs, classes)
    (w_true, w_pred), w_pick, w_info = box.children[0].children, box.children[1], box.children[2]
    assert w_pick.max == 2 and "record <b>100</b>" in w_info.value and "p = 0.95" in w_info.value
    w_pick.value = 2
    assert "p = 0.60" in w_info.value and "RR before" in w_info.value
    w_true.value = "V"
    assert w_pick.max == 0 and "No mistakes of this kind" in w_info.value
    w_true.value, w_pred.value = "N", "V"
    assert w_pick.max == 2
    assert plt.get_fignums() == []


def test_s_dial_moves_along_the_ds1_operating_points():
    import numpy as np

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, size=300)
    probs = rng.dirichlet(np.ones(5), size=300)
    probs[labels == 1, 1] += 0.5
    probs /= probs.sum(axis=1, keepdims=True)
    folds = {"labels": labels, "probabilities": probs, "records": np.array(["101"] * 300)}
    box = widgets.s_dial(folds, targets={"S se": 0.8, "S ppv": 0.75})
    w_t, w_info = box.children[0], box.children[1]
    calls = []
    for t in (0.2, 0.5, 0.8):
        w_t.value = t
        calls.append(int(w_info.value.split("(")[2].split(" S calls")[0].replace(",", "")))
    assert calls[0] > calls[1] > calls[2]  # a higher threshold calls fewer beats S
    assert "1 patients" in w_info.value and plt.get_fignums() == []


def test_template_explorer_shows_a_beat_against_its_patients_template(mitdb_ready):
    import pytest

    from ecgutils.dataset import build_dataset
    from ecgutils.interface import explore

    ds = build_dataset("quick", rule="fixed", scale="patient", size=16, progress=False)
    box = widgets.template_explorer(ds, record="207")
    (w_record, w_class, w_beat), w_info = box.children[0].children, box.children[1]
    own = ds.beats[ds.beats["record"] == "207"].reset_index(drop=True)
    assert [c for _, c in w_class.options] == list(explore.class_rows(own, "aami5"))
    assert "Record <b>207</b>: 1 unit = " in w_info.value and "reference RR" in w_info.value
    w_class.value = "V"
    w_beat.value = 2
    assert w_beat.max == len(explore.class_rows(own, "aami5")["V"]) - 1
    w_record.value = "100"
    assert "Record <b>100</b>" in w_info.value and w_class.value == "V"
    assert plt.get_fignums() == []
    with pytest.raises(ValueError, match="scale='patient'"):
        widgets.template_explorer(build_dataset("quick", size=16, progress=False))
