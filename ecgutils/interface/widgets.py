"""Thin ipywidgets front-ends. Each one only wires controls to a plain, tested function."""

from __future__ import annotations

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import display

from ..augment import CROP_NAMES, nine_crops
from ..classes import scheme_classes
from ..config import MITDB_FS, MITDB_RECORDS
from ..data import Record, load_record
from ..dataset import reference_beats
from ..detect import DETECTORS, detect_window
from ..evaluate import ec57_metrics
from ..render import render_beat_reference
from ..segment import RULES, segment_record
from .explore import class_rows, error_table, patient_signal, record_images, s_operating_points
from .model_plots import (
    plot_beat_against_template,
    plot_explanation,
    plot_s_operating_points,
)
from .plotting import (
    plot_beat_in_context,
    plot_beat_windows,
    plot_detections,
    plot_image_grid,
    plot_record_strip,
)


def record_browser(
    records=MITDB_RECORDS, *, record: str | None = None, window_s: float = 10.0
) -> widgets.VBox:
    """Browse MIT-BIH records: choose record, lead, start time and window length.

    Draws with :func:`ecgutils.interface.plotting.plot_record_strip`. Records are loaded (and
    fetched if missing) on first use and kept for the session.
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
        show_figure(out, plot_record_strip(rec, w_start.value, w_window.value).figure)

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


def show_figure(out: widgets.Output, fig) -> None:
    """Show ``fig`` in the output area ``out`` (replacing what it showed) and close it."""
    with out:
        out.clear_output(wait=True)
        display(fig)
        plt.close(fig)


def beat_stepper(
    record: Record | str = "207",
    rules=("seed", "paper"),
    *,
    records=MITDB_RECORDS,
    scheme: str = "paper8",
):
    """Step through the beats of any record, showing the window each rule cuts.

    Draws with :func:`ecgutils.interface.plotting.plot_beat_windows`. A class filter jumps between
    beats of one class (the classes the chosen record holds, with their counts).
    """

    classes = scheme_classes(scheme)
    current = {"record": record if isinstance(record, Record) else load_record(str(record))}
    names = [str(r) for r in records]
    if current["record"].name not in names:
        names.append(current["record"].name)
    tables = {}
    w_record = widgets.Dropdown(options=names, value=current["record"].name, description="record")
    w_class = widgets.Dropdown(description="class")
    w_beat = widgets.IntSlider(
        value=0, min=0, max=0, description="beat", continuous_update=False,
        layout=widgets.Layout(width="70%"),
    )  # fmt: skip
    w_prev, w_next = widgets.Button(description="◀ previous"), widgets.Button(description="next ▶")
    out = widgets.Output()

    def rows():
        labels = tables[rules[0]][scheme].to_numpy()
        if w_class.value == "all":
            return np.arange(len(labels))
        return np.flatnonzero(labels == classes.index(w_class.value))

    def redraw(*_):
        ax = plot_beat_windows(current["record"], tables, w_beat.value)
        show_figure(out, ax.figure)

    def step(delta):
        candidates = rows()
        if not len(candidates):
            return
        if delta > 0:
            later = candidates[candidates > w_beat.value]
            w_beat.value = int(later[0] if len(later) else candidates[0])
        else:
            earlier = candidates[candidates < w_beat.value]
            w_beat.value = int(earlier[-1] if len(earlier) else candidates[-1])

    def load(*_):
        if w_record.value != current["record"].name:
            current["record"] = load_record(w_record.value)
        tables.clear()
        tables.update({rule: segment_record(current["record"], rule) for rule in rules})
        labels = tables[rules[0]][scheme].to_numpy()
        counts = [(k, c, int((labels == k).sum())) for k, c in enumerate(classes)]
        busy["now"] = True  # one drawing for the new record, not one per control reset
        try:
            w_class.options = [("all", "all")] + [(f"{c} ({n:,})", c) for k, c, n in counts if n]
            w_class.value = "all"
            w_beat.value = 0
            w_beat.max = len(labels) - 1
        finally:
            busy["now"] = False
        redraw()

    busy = {"now": False}
    w_prev.on_click(lambda _: step(-1))
    w_next.on_click(lambda _: step(+1))
    w_class.observe(lambda _: busy["now"] or step(+1), names="value")
    w_beat.observe(lambda _: busy["now"] or redraw(), names="value")
    w_record.observe(load, names="value")
    load()
    return widgets.VBox([widgets.HBox([w_record, w_class, w_prev, w_next]), w_beat, out])


#: Sampling rates the detector explorer can hand a detector, Hz (the record's own is added).
PASSED_RATES: tuple[int, ...] = (128, 250, 500, 1000)


def detector_explorer(
    records=MITDB_RECORDS,
    *,
    record: str = "207",
    method: str = "pantompkins",
    start_s: float = 60.0,
    window_s: float = 10.0,
) -> widgets.VBox:
    """Run one R-peak detector on a stretch of any record and see what it found, missed and
    invented: record, start, detector, the T-wave check, and the sampling rate handed to the
    detector against the record's true rate.

    Calls :func:`ecgutils.detect.detect_window` and draws with
    :func:`ecgutils.interface.plotting.plot_detections`.
    """

    records = [str(r) for r in records]
    cache: dict[str, Record] = {}

    def get(name: str) -> Record:
        if name not in cache:
            cache[name] = load_record(name)
        return cache[name]

    first = get(record if record in records else records[0])
    w_record = widgets.Dropdown(options=records, value=first.name, description="record")
    w_method = widgets.Dropdown(options=list(DETECTORS), value=method, description="detector")
    w_refine = widgets.Checkbox(value=False, description="T-wave check")
    w_rate = widgets.Dropdown(description="rate passed")
    w_start = widgets.FloatSlider(
        value=start_s, min=0.0, max=max(first.duration_s - window_s, 0.0), step=window_s / 2,
        description="start (s)", continuous_update=False, layout=widgets.Layout(width="70%"),
    )  # fmt: skip
    w_status = widgets.HTML()
    out = widgets.Output()

    def rates(rec: Record) -> list[tuple[str, float]]:
        true = float(rec.fs)
        options = sorted({true, *map(float, PASSED_RATES)})
        return [(f"{r:g} Hz" + (" (the true rate)" if r == true else ""), r) for r in options]

    def redraw(*_):
        rec = get(w_record.value)
        try:
            peaks = detect_window(
                rec, w_start.value, window_s, w_method.value, refine=w_refine.value,
                fs=w_rate.value,
            )  # fmt: skip
        except ValueError as exc:  # e.g. too short a stretch for the rate passed
            w_status.value = f"<b>Cannot detect:</b> {exc}"
            return
        w_status.value = ""
        check = "with" if w_refine.value else "without"
        title = f"{w_method.value}, {check} the T-wave check, {w_rate.value:g} Hz passed"
        fig, ax = plt.subplots(figsize=(12, 3.6), layout="constrained")
        plot_detections(rec, peaks, w_start.value, window_s, title=title, ax=ax)
        show_figure(out, fig)

    def record_changed(*_):
        rec = get(w_record.value)
        with w_rate.hold_trait_notifications(), w_start.hold_trait_notifications():
            w_rate.options = rates(rec)
            w_rate.value = float(rec.fs)
            w_start.max = max(rec.duration_s - window_s, 0.0)
            w_start.value = min(w_start.value, w_start.max)
        redraw()

    w_record.observe(record_changed, names="value")
    for w in (w_method, w_refine, w_rate, w_start):
        w.observe(redraw, names="value")
    w_rate.options = rates(first)
    w_rate.value = float(first.fs)
    redraw()
    return widgets.VBox(
        [widgets.HBox([w_record, w_method, w_refine]), widgets.HBox([w_rate]), w_start, w_status,
         out]
    )  # fmt: skip


class _ClassBeatPicker:
    """A class dropdown (each class with its count) and a slider over that class's beats.

    ``set_rows`` gives it the positions of each class's beats (keeping the chosen class when
    the new rows hold it); ``changed`` is called once per change, never while it resets.
    """

    def __init__(self, changed):
        self.rows: dict[str, np.ndarray] = {}
        self.changed = changed
        self._busy = False
        self.w_class = widgets.Dropdown(description="class")
        self.w_beat = widgets.IntSlider(
            value=0, min=0, max=0, description="beat of class", continuous_update=False,
            style={"description_width": "initial"},
        )  # fmt: skip
        self.w_class.observe(self._class_changed, names="value")
        self.w_beat.observe(lambda _: self._busy or self.changed(), names="value")

    def set_rows(self, rows: dict[str, np.ndarray]) -> None:
        self.rows = rows
        self._busy = True
        try:
            keep = self.w_class.value if self.w_class.value in rows else None
            self.w_class.options = [(f"{c} ({len(r):,})", c) for c, r in rows.items()]
            self.w_class.value = keep or next(iter(rows))
            self.w_beat.value = 0
            self.w_beat.max = len(rows[self.w_class.value]) - 1
        finally:
            self._busy = False
        self.changed()

    def position(self) -> int:
        """Position of the chosen beat in the table the rows index."""
        return int(self.rows[self.w_class.value][self.w_beat.value])

    def _class_changed(self, _):
        if self._busy:
            return
        self._busy = True
        try:
            self.w_beat.value = 0
            self.w_beat.max = len(self.rows[self.w_class.value]) - 1
        finally:
            self._busy = False
        self.changed()


def render_explorer(
    record: Record | str = "207",
    *,
    records=MITDB_RECORDS,
    rule: str = "seed",
    size: int = 48,
    scheme: str = "paper8",
):
    """The image a beat becomes under each decision of the pipeline, on any record and class:
    segmentation rule, image size (48, the standard profile's, included), scale (``minmax``,
    ``fixed`` mV, ``patient`` units with the record's template beat) and line width, beside
    the beat in mV and the original renderer's 128x128 picture.

    Draws with :func:`ecgutils.interface.explore.record_images`, exactly as the data sets are drawn.
    """

    current = {"record": record if isinstance(record, Record) else load_record(str(record))}
    names = [str(r) for r in records]
    if current["record"].name not in names:
        names.append(current["record"].name)
    tables, normalized = {}, {}
    w_record = widgets.Dropdown(options=names, value=current["record"].name, description="record")
    w_rule = widgets.ToggleButtons(options=list(RULES), value=rule, description="rule")
    w_size = widgets.Dropdown(options=[16, 32, 48, 64, 96, 128], value=size, description="size")
    w_scale = widgets.ToggleButtons(
        options=["minmax", "fixed", "patient"], value="minmax", description="scale"
    )
    w_width = widgets.FloatSlider(
        value=1.0, min=0.25, max=4.0, step=0.25, description="line width", continuous_update=False
    )
    out = widgets.Output()

    def table():
        key = (current["record"].name, w_rule.value)
        if key not in tables:
            tables[key] = segment_record(current["record"], w_rule.value)
        return tables[key]

    def redraw(*_):
        if not picker.rows:
            return
        rec, tab = current["record"], table()
        row = picker.position()
        key = (rec.name, w_rule.value)
        if w_scale.value == "patient" and key not in normalized:
            normalized[key] = patient_signal(rec, tab)
        drawn = record_images(
            rec, tab, [row], size=w_size.value, scale=w_scale.value, line_width=w_width.value,
            normalized=normalized.get(key),
        )  # fmt: skip
        beat = rec.signal[int(tab["start"].iloc[row]) : int(tab["end"].iloc[row])]
        panels = 4 if drawn["template"] is not None else 3
        fig, axes = plt.subplots(1, panels, figsize=(3.4 * panels + 1, 3.4), layout="constrained")
        t = (np.arange(len(beat)) + int(tab["start"].iloc[row]) - int(tab["r"].iloc[row])) / rec.fs
        axes[0].plot(1000 * t, beat, color="#1f1f1f", lw=1)
        axes[0].set_xlabel("time from R (ms)")
        axes[0].set_ylabel(f"{rec.lead} (mV)")
        axes[0].set_title(f"Record {rec.name}, {tab['symbol'].iloc[row]} beat {row}")
        axes[1].imshow(render_beat_reference(beat), cmap="gray", vmin=0, vmax=255)
        axes[1].set_title("original renderer, 128x128, minmax")
        axes[2].imshow(drawn["images"][0], cmap="gray", vmin=0, vmax=255)
        axes[2].set_title(f"{w_rule.value}, {w_size.value}x{w_size.value}, {w_scale.value}")
        if drawn["template"] is not None:
            axes[3].imshow(drawn["template"], cmap="gray", vmin=0, vmax=255)
            axes[3].set_title(
                f"record's template (1 unit = {abs(drawn['unit_mv']):.2f} mV"
                + (", turned over)" if drawn["unit_mv"] < 0 else ")")
            )
        for ax in axes[1:]:
            ax.set_axis_off()
        show_figure(out, fig)

    picker = _ClassBeatPicker(redraw)

    def record_changed(*_):
        current["record"] = load_record(w_record.value)
        picker.set_rows(class_rows(table(), scheme))

    w_record.observe(record_changed, names="value")
    w_rule.observe(lambda _: picker.set_rows(class_rows(table(), scheme)), names="value")
    for w in (w_size, w_scale, w_width):
        w.observe(redraw, names="value")
    picker.set_rows(class_rows(table(), scheme))
    return widgets.VBox(
        [widgets.HBox([w_record, picker.w_class, picker.w_beat]), w_rule,
         widgets.HBox([w_size, w_width]), w_scale, out]
    )  # fmt: skip


def crop_explorer(images: np.ndarray, labels: np.ndarray, scheme: str):
    """Choose a class and a beat; see the image and its nine crops."""

    classes = scheme_classes(scheme)
    present = [c for k, c in enumerate(classes) if (labels == k).any()]
    w_class = widgets.Dropdown(
        options=present, value=present[min(1, len(present) - 1)], description="class"
    )
    w_beat = widgets.IntSlider(value=0, min=0, max=0, description="beat", continuous_update=False)
    out = widgets.Output()

    def members():
        return np.flatnonzero(labels == classes.index(w_class.value))

    def redraw(*_):
        i = members()[w_beat.value]
        crops = nine_crops(images[i])
        fig = plot_image_grid(
            np.concatenate([images[i][None], crops]),
            ["original", *CROP_NAMES],
            ncols=5,
            suptitle=f"{w_class.value}: image {i} and its nine crops",
        )
        show_figure(out, fig)

    def class_changed(*_):
        with w_beat.hold_trait_notifications():
            w_beat.max = len(members()) - 1
            w_beat.value = 0
        redraw()

    w_class.observe(class_changed, names="value")
    w_beat.observe(redraw, names="value")
    class_changed()
    return widgets.VBox([widgets.HBox([w_class, w_beat]), out])


def error_browser(dataset, index, y_true, probs, classes):
    """Browse the misclassified beats, most confident mistakes first: filter by true and
    predicted class; see each beat's record, time, RR intervals and probabilities, the strip
    around it with the cardiologists' labels, and the image the model saw.

    Parameters
    ----------
    dataset : BeatDataset
    index : (n,) int array
        The beats classified (rows of ``dataset.beats``).
    y_true : (n,) int array
    probs : (n, n_classes) float array
    classes : sequence of str
        Class names in the model's output order.

    Lists with :func:`ecgutils.interface.explore.error_table`; draws with
    :func:`ecgutils.interface.plotting.plot_beat_in_context`.
    """

    errors = error_table(dataset.beats, index, y_true, probs, classes)
    names = ["any", *classes]
    w_true = widgets.Dropdown(options=names, value="any", description="true")
    w_pred = widgets.Dropdown(options=names, value="any", description="predicted")
    w_pick = widgets.IntSlider(
        value=0, min=0, max=0, description="mistake", continuous_update=False,
        layout=widgets.Layout(width="50%"),
    )  # fmt: skip
    w_info = widgets.HTML()
    out = widgets.Output()
    busy = {"now": False}
    records: dict[str, Record] = {}

    def chosen():
        keep = np.ones(len(errors), dtype=bool)
        if w_true.value != "any":
            keep &= (errors["true"] == w_true.value).to_numpy()
        if w_pred.value != "any":
            keep &= (errors["predicted"] == w_pred.value).to_numpy()
        return errors[keep]

    def redraw(*_):
        if busy["now"]:
            return
        rows = chosen()
        if not len(rows):
            w_info.value = f"No mistakes of this kind among {len(errors):,}."
            with out:
                out.clear_output()
            return
        e = rows.iloc[w_pick.value]
        name = str(e["record"])
        if name not in records:
            records[name] = load_record(name)
        t = e["time (s)"]
        w_info.value = (
            f"<b>{w_pick.value + 1} of {len(rows):,}</b> such mistakes ({len(errors):,} in all): "
            f"record <b>{name}</b> at {int(t // 60)}:{t % 60:04.1f} (beat {int(e['beat'])}), "
            f"true <b>{e['true']}</b>, called <b>{e['predicted']}</b> with p = "
            f"{e['p(predicted)']:.2f} (p({e['true']}) = {e['p(true)']:.2f}); RR before "
            f"{e['RR before (ms)']:.0f} ms ({e['RR before / local']:.2f} of the local rhythm), "
            f"after {e['RR after (ms)']:.0f} ms"
        )
        beat = dataset.beats.iloc[int(e["beat"])]
        fig = plot_beat_in_context(
            records[name], beat, image=dataset.images[int(e["beat"])],
            title=f"Record {name}: a {e['true']} beat called {e['predicted']}",
        )  # fmt: skip
        show_figure(out, fig)

    def filter_changed(*_):
        busy["now"] = True
        try:
            w_pick.value = 0
            w_pick.max = max(len(chosen()) - 1, 0)
        finally:
            busy["now"] = False
        redraw()

    for w in (w_true, w_pred):
        w.observe(filter_changed, names="value")
    w_pick.observe(redraw, names="value")
    filter_changed()
    return widgets.VBox([widgets.HBox([w_true, w_pred]), w_pick, w_info, out])


def template_explorer(dataset, *, record: str | None = None, scheme: str = "aami5"):
    """Any beat of any record of a ``patient`` data set against its patient's template: the
    two images, their read-back traces and the difference, the patient's unit in mV and the
    beat's RR interval against the patient's reference RR.

    ``dataset``: a data set built with ``rule="fixed", scale="patient"`` (chapter 09's). Draws
    with :func:`ecgutils.interface.plotting.plot_beat_against_template`.
    """

    if dataset.templates is None:
        raise ValueError(
            "template_explorer needs a data set with templates: "
            "build_dataset(profile, rule='fixed', scale='patient')."
        )
    beats = dataset.beats.reset_index(drop=True)
    names = list(dataset.params["records"])
    units: dict[str, float] = {}
    w_record = widgets.Dropdown(
        options=names, value=record if record in names else names[0], description="record"
    )
    w_info = widgets.HTML()
    out = widgets.Output()

    def mine():
        return np.flatnonzero(beats["record"].astype(str).to_numpy() == w_record.value)

    def redraw(*_):
        if not picker.rows:
            return
        own = mine()
        i = int(own[picker.position()])
        name = w_record.value
        if name not in units:
            units[name] = patient_signal(load_record(name), beats.iloc[own])[2]
        ref = reference_beats(beats.iloc[own])
        ref_rr = float(beats["rr_prev_s"].iloc[own][ref].mean())
        b = beats.iloc[i]
        w_info.value = (
            f"Record <b>{name}</b>: 1 unit = {units[name]:.2f} mV (its typical beat height); "
            f"template = median of {int(ref.sum()):,} reference beats (after an RR at least as "
            f"long as the record's median). This beat: RR before {1000 * b['rr_prev_s']:.0f} ms "
            f"= {b['rr_prev_s'] / ref_rr:.2f} of the patient's reference RR "
            f"({1000 * ref_rr:.0f} ms)."
        )
        cls, k = picker.w_class.value, picker.w_beat.value
        fig = plot_beat_against_template(
            dataset.images[i], dataset.templates[names.index(name)],
            f"{cls} beat {k + 1} of {len(picker.rows[cls]):,} ({b['symbol']}) at "
            f"{b['r'] / MITDB_FS:.1f} s",
        )  # fmt: skip
        show_figure(out, fig)

    picker = _ClassBeatPicker(redraw)
    w_record.observe(lambda _: picker.set_rows(class_rows(beats.iloc[mine()], scheme)), "value")
    picker.set_rows(class_rows(beats.iloc[mine()], scheme))
    return widgets.VBox([widgets.HBox([w_record, picker.w_class, picker.w_beat]), w_info, out])


def s_dial(folds: dict, *, targets: dict | None = None, threshold: float = 0.5):
    """A dial for the S class on DS1 patient folds (never DS2): call a beat S once its S
    probability reaches the threshold, and see S sensitivity against positive predictivity
    move, with V's figures and the accuracy beside them.

    ``folds``: what :func:`ecgutils.trees.ds1_fold_probabilities` returns. Computes the
    curve with :func:`ecgutils.interface.explore.s_operating_points`; draws with
    :func:`ecgutils.interface.plotting.plot_s_operating_points`.
    """

    labels, probs = folds["labels"], folds["probabilities"]
    grid = np.round(np.arange(0.02, 0.99, 0.02), 2)
    table = s_operating_points(labels, probs, grid)
    plain = ec57_metrics(labels, probs.argmax(axis=1))["per_class"]["S"]
    argmax = {"S Se (%)": 100 * plain["se"], "S +P (%)": 100 * plain["ppv"]}
    w_t = widgets.FloatSlider(
        value=threshold, min=0.02, max=0.98, step=0.02, description="S threshold",
        continuous_update=False, style={"description_width": "initial"},
    )  # fmt: skip
    w_info = widgets.HTML()
    out = widgets.Output()
    n_s = int((labels == 1).sum())
    n_records = len(set(folds["records"]))

    def redraw(*_):
        row = table.loc[float(np.round(w_t.value, 2))]
        w_info.value = (
            f"{len(labels):,} DS1 beats of {n_records} patients ({n_s:,} S), each scored by trees "
            f"that never saw its patient: S Se <b>{row['S Se (%)']:.1f}%</b>, S +P "
            f"<b>{row['S +P (%)']:.1f}%</b> ({int(row['S calls']):,} S calls); V Se "
            f"{row['V Se (%)']:.1f}%, V +P {row['V +P (%)']:.1f}%; accuracy "
            f"{row['accuracy (%)']:.1f}%"
        )
        fig, ax = plt.subplots(figsize=(6.4, 4.6), layout="constrained")
        plot_s_operating_points(table, w_t.value, argmax=argmax, targets=targets, ax=ax)
        show_figure(out, fig)

    w_t.observe(redraw, names="value")
    redraw()
    return widgets.VBox([w_t, w_info, out])


def cam_explorer(trained_models: dict, *, beats: dict | None = None):
    """Choose a model, a record, a beat and a layer; see the beat's Grad-CAM on its image and on
    its waveform (:func:`ecgutils.interface.plotting.plot_explanation`).

    Parameters
    ----------
    trained_models : dict of name -> :class:`ecgutils.train.TrainedModel`
    beats : dict of name -> (k,) int array, optional
        Beats offered per model (default: its test beats).
    """
    from ..explain import conv_layers  # deferred: ecgutils.explain loads TensorFlow

    names = list(trained_models)
    w_model = widgets.Dropdown(options=names, value=names[0], description="model")
    w_record = widgets.Dropdown(description="record")
    w_beat = widgets.IntSlider(min=0, description="beat", continuous_update=False)
    w_layer = widgets.Dropdown(description="layer")
    out = widgets.Output()
    state = {"busy": False}

    def offered(name):
        tm = trained_models[name]
        index = beats[name] if beats and name in beats else tm.split["test"]
        return tm, np.asarray(index)

    def choices(name, record):
        tm, index = offered(name)
        return index[tm.dataset.beats["record"].astype(str).to_numpy()[index] == record]

    def redraw(*_):
        if state["busy"]:
            return
        tm, _ = offered(w_model.value)
        here = choices(w_model.value, w_record.value)
        if len(here):
            show_figure(out, plot_explanation(tm, int(here[w_beat.value]), layer=w_layer.value))

    def model_changed(*_):
        state["busy"] = True
        tm, index = offered(w_model.value)
        records = sorted(set(tm.dataset.beats["record"].astype(str).to_numpy()[index]))
        w_record.options = records
        w_record.value = records[0]
        w_layer.options = conv_layers(tm.model)
        w_layer.value = w_layer.options[-1]
        record_changed()

    def record_changed(*_):
        state["busy"] = True
        w_beat.max = max(0, len(choices(w_model.value, w_record.value)) - 1)
        w_beat.value = 0
        state["busy"] = False
        redraw()

    w_model.observe(model_changed, names="value")
    w_record.observe(record_changed, names="value")
    for w in (w_beat, w_layer):
        w.observe(redraw, names="value")
    model_changed()
    return widgets.VBox([widgets.HBox([w_model, w_record]), widgets.HBox([w_beat, w_layer]), out])
