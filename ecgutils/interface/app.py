"""The prediction page: choose an ECG file, press Predict, see every beat (make app, notebook 10).

The page runs in the notebook, in JupyterLab and served by Voila (app/predict.ipynb); the work
is ecgutils.deploy.predict.classify_upload, as on the command line."""

from __future__ import annotations

import anywidget
import ipywidgets as widgets
import numpy as np
import traitlets

from ..deploy.ecgfile import MAX_FILE_BYTES, RATE_FROM
from ..deploy.holter import SUMMARY_FROM_S, holter_summary
from ..deploy.predict import DEFAULT_MODEL, MODELS, classify_upload, load_deployed_model
from .model_plots import plot_heart_rate, plot_prediction
from .widgets import show_figure

_UPLOAD_ESM = """
function render({ model, el }) {
  const input = document.createElement("input");
  input.type = "file";
  input.accept = model.get("accept");
  input.setAttribute("aria-label", "ECG file");
  const note = document.createElement("span");
  note.className = "ecg-upload-note";
  note.style.marginLeft = "0.5em";
  const show = () => {
    const name = model.get("name");
    note.textContent = name ? `${name} (${(model.get("size") / 1024).toFixed(0)} kB)` : "";
  };
  input.multiple = true;  // a WFDB record is two files: its header and its signal
  input.addEventListener("change", async () => {
    const files = Array.from(input.files);
    if (!files.length) return;
    const max = model.get("max_bytes");
    const total = files.reduce((sum, f) => sum + f.size, 0);
    model.set("name", files.map((f) => f.name).join(" + "));
    model.set("names", files.map((f) => f.name));
    model.set("sizes", files.map((f) => f.size));
    model.set("size", total);
    if (total > max) {  // refused here: no file is read, nothing reaches the kernel
      model.set("refused", true);
      model.set("content", new DataView(new ArrayBuffer(0)));
      input.value = "";
    } else {  // one buffer, the files one after the other (sizes says where each ends)
      const all = new Uint8Array(total);
      let at = 0;
      for (const f of files) {
        all.set(new Uint8Array(await f.arrayBuffer()), at);
        at += f.size;
      }
      model.set("refused", false);
      model.set("content", new DataView(all.buffer));
    }
    model.save_changes();
  });
  model.on("change:name", show);
  show();
  el.append(input, note);
}
export default { render };
"""


class BoundedUpload(anywidget.AnyWidget):
    """A file chooser that refuses a file over ``max_bytes`` in the browser, before reading it:
    ipywidgets' ``FileUpload`` reads every chosen file into the page's memory and sends it all to
    the kernel, whatever its size. Traits: ``name``, ``size`` (bytes, as the browser reports
    it), ``content`` (the file's bytes; empty when refused), ``refused`` (True when the file was
    over the limit and not read), ``accept`` (the file types offered), ``max_bytes``. Several
    files may be chosen together (a WFDB record's ``.hea`` and ``.dat``): ``names`` and ``sizes``
    list them, ``content`` holds them one after the other, ``size`` is their total."""

    _esm = _UPLOAD_ESM
    accept = traitlets.Unicode(".csv,.txt,.tsv,.edf,.bdf,.hea,.dat").tag(sync=True)
    max_bytes = traitlets.Int(MAX_FILE_BYTES).tag(sync=True)
    name = traitlets.Unicode("").tag(sync=True)
    size = traitlets.Int(0).tag(sync=True)
    names = traitlets.List(traitlets.Unicode()).tag(sync=True)
    sizes = traitlets.List(traitlets.Int()).tag(sync=True)
    refused = traitlets.Bool(False).tag(sync=True)
    # the browser sends the file as a binary buffer: a memoryview on arrival
    content = traitlets.Bytes(b"").tag(sync=True, from_json=lambda value, _: bytes(value))

    def file(self) -> tuple[str, bytes]:
        """(name, bytes) of the chosen file; a clear error when there is none, or when it was
        refused for its size."""
        if self.refused:
            raise ValueError(
                f"{self.name} is {self.size / 2**20:.0f} MB, over the {self.max_bytes / 2**20:.0f}"
                " MB limit of the page: it was not read. Cut the recording into shorter files, or "
                "use the command line (python -m ecgutils predict)."
            )
        if not self.name:
            raise ValueError("Choose an ECG file first (a CSV with one number per row, or a lead).")
        return self.name, bytes(self.content)

    def files(self) -> list[tuple[str, bytes]]:
        """[(name, bytes), ...] of every file chosen (one, or a WFDB record's header and signal
        file); the errors of :meth:`file`."""
        name, data = self.file()
        if len(self.names) < 2 or sum(self.sizes) != len(data):
            return [(name, data)]
        ends = np.cumsum(self.sizes)
        return [(n, data[e - k : e]) for n, k, e in zip(self.names, self.sizes, ends)]


def beats_html(beats, *, table_id: str = "beats") -> str:
    """The beats table as HTML (one row per beat), with an id the browser test finds."""
    return beats.to_html(index=False, table_id=table_id, float_format=lambda v: f"{v:.2f}")


def download_links(pred) -> str:
    """HTML links that save a :class:`~ecgutils.deploy.predict.Prediction`'s beat table as CSV
    and the whole answer (model, file, beats, summary) as JSON: data URIs, so the browser saves them
    without another request to the server."""
    import base64
    import html
    from pathlib import PurePath

    stem = PurePath(str(pred.ecg.source)).stem or "ecg"
    files = (
        ("csv", "text/csv", pred.beats.to_csv(index=False), "the beats (CSV)"),
        ("json", "application/json", pred.to_json(), "the whole answer (JSON)"),
    )
    links = []
    for ext, mime, text, label in files:
        data = base64.b64encode(text.encode("utf-8")).decode("ascii")
        name = html.escape(f"{stem}-beats.{ext}")
        links.append(
            f'<a class="ecg-download-{ext}" download="{name}" '
            f'href="data:{mime};charset=utf-8;base64,{data}">Download {label}</a>'
        )
    return " &middot; ".join(links)


def prediction_app(model=None, *, window_s: float = 10.0) -> widgets.VBox:
    """Choose an ECG file (its sampling rate when the file does not state it, a lead, units);
    press Predict; see every beat.

    Shows which model answered (:func:`ecgutils.deploy.predict.model_line`), the beats table,
    the class summary, links to save the beats as CSV and JSON (:func:`download_links`) and the
    signal with each beat coloured by class
    (:func:`ecgutils.interface.plotting.plot_prediction`, a slider moves through the recording).
    A recording of :data:`ecgutils.deploy.holter.SUMMARY_FROM_S` or more also gets its Holter
    summary: the heart rate per hour (a figure) and the report's tables.
    The work is :func:`ecgutils.deploy.predict.classify_upload`, as in the command line; errors
    appear as one line in red. A file over the size limit is refused in the browser, unread
    (:class:`BoundedUpload`). The model is chosen by name
    (:data:`ecgutils.deploy.predict.MODELS`, the default first) unless one is given; each is
    loaded on its first use. *self-train* asks the trees to learn from the file's own confident
    beats first (:func:`ecgutils.deploy.predict.predict_ecg`'s ``self_train``).
    """
    import html
    import logging

    state: dict = {"models": {}, "pred": None}
    if model is not None:
        state["models"]["given"] = model
        choices = [("the one given", "given")]
    else:
        choices = [(n, n) for n in sorted(MODELS, key=lambda n: n != DEFAULT_MODEL)]
    w_model_choice = widgets.Dropdown(options=choices, value=choices[0][1], description="model")
    w_file = BoundedUpload()
    w_fs = widgets.Text(value="", placeholder="from the file", description="fs (Hz)")
    w_lead = widgets.Text(value="", placeholder="MLII, else the first", description="lead")
    w_units = widgets.Dropdown(
        options=[("from the file (else mV)", None), "mV", "uV", "V", "adc"], value=None,
        description="units",
    )  # fmt: skip
    w_gain = widgets.FloatText(value=200.0, description="ADC gain")
    w_self = widgets.Checkbox(
        value=False, description="self-train (trees; seconds more)", indent=False,
        layout=widgets.Layout(width="auto"),
    )  # fmt: skip
    w_go = widgets.Button(description="Predict", button_style="primary", icon="heartbeat")
    w_status = widgets.HTML()
    w_model = widgets.HTML()
    w_summary = widgets.HTML()
    w_links = widgets.HTML()
    w_table = widgets.HTML(layout=widgets.Layout(max_height="320px", overflow="auto"))
    w_holter = widgets.HTML(layout=widgets.Layout(max_height="420px", overflow="auto"))
    w_rate = widgets.Output()
    w_from = widgets.FloatSlider(
        value=0.0, min=0.0, max=0.0, step=1.0, description="from (s)",
        continuous_update=False, layout=widgets.Layout(width="60%"),
    )  # fmt: skip
    out = widgets.Output()
    handles = {w_file: "file", w_fs: "fs", w_lead: "lead", w_units: "units", w_gain: "gain",
               w_model_choice: "model-choice", w_self: "self-train", w_go: "predict"}  # fmt: skip
    for w, name in handles.items():
        w.add_class(f"ecg-{name}")  # handles for the browser test

    def draw(*_):
        pred = state["pred"]
        if pred is not None:
            ax = plot_prediction(
                pred.ecg, pred.ecg.fs, pred.beats, start_s=w_from.value, duration_s=window_s
            )
            show_figure(out, ax.figure)

    def error(text: str) -> None:
        w_status.value = f'<span style="color:#c00" class="ecg-error">{html.escape(text)}</span>'

    def chosen(_):
        if w_file.refused:  # say so at once: nothing was read
            try:
                w_file.file()
            except ValueError as exc:
                error(str(exc))
        else:
            w_status.value = ""

    def say_progress(share: float) -> None:  # long recordings: how far the work has got
        w_status.value = f"<i>Predicting... {share:.0%}</i>"

    def predict(_):
        w_status.value = "<i>Predicting...</i>"
        w_model.value = w_summary.value = w_links.value = w_table.value = w_holter.value = ""
        out.clear_output()
        w_rate.clear_output()
        state["pred"] = None
        try:
            files = w_file.files()
            chosen = w_model_choice.value
            if chosen not in state["models"]:
                state["models"][chosen] = load_deployed_model(chosen)
            fs = w_fs.value.strip().replace(",", ".") or None  # blank: the file states it
            pred = classify_upload(
                files, fs=fs, lead=w_lead.value.strip() or None,
                units=w_units.value, gain=w_gain.value, model=state["models"][chosen],
                self_train=w_self.value, progress=say_progress,
            )  # fmt: skip
        except (ValueError, OSError) as exc:
            error(str(exc))
            return
        except Exception as exc:  # never a traceback in the page; the log keeps it
            logging.getLogger(__name__).exception("prediction failed")
            error(f"Unexpected error: {exc}")
            return
        state["pred"] = pred
        ecg = pred.ecg
        w_status.value = (
            f'<span class="ecg-done">{html.escape(ecg.source)}: lead {html.escape(ecg.lead)}, '
            f"{ecg.duration_s:.1f} s at {ecg.fs:g} Hz ({html.escape(RATE_FROM[ecg.fs_source])}), "
            f"<b>{len(pred.beats):,} beats</b></span>"
        )
        notes = "".join(f'<br><b class="ecg-note">{html.escape(n)}</b>' for n in pred.notes)
        w_model.value = f'<span class="ecg-model">Model: {html.escape(pred.model)}</span>{notes}'
        w_links.value = download_links(pred)
        w_summary.value = pred.summary[pred.summary["beats"] > 0].to_html(table_id="summary")
        w_table.value = beats_html(pred.beats)
        if ecg.duration_s >= SUMMARY_FROM_S:  # a long recording: what a Holter report gives
            beats, scheme = pred.beats, state["models"][chosen].card["scheme"]
            holter = holter_summary(beats["r"].to_numpy(), beats["class"].to_numpy(), ecg.fs,
                                    duration_s=ecg.duration_s, scheme=scheme)  # fmt: skip
            w_holter.value = holter.html()
            show_figure(w_rate, plot_heart_rate(holter.hours).figure)
        w_from.max = max(ecg.duration_s - window_s, 0.0)
        w_from.value = 0.0
        draw()

    w_go.on_click(predict)
    # a second over-size file keeps refused=True: its name and size change, so watch them too
    w_file.observe(chosen, names=["refused", "name", "size"])
    w_from.observe(draw, names="value")
    controls = widgets.HBox([w_file, w_fs, w_lead, w_units, w_gain, w_model_choice, w_self, w_go])
    return widgets.VBox(
        [controls, w_status, w_model, w_summary, w_links, w_from, out, w_table, w_rate, w_holter]
    )
