"""Deployment: a raw ECG in, every beat's class and sample range out (notebook 10).

:func:`open_recording` (:mod:`ecgutils.deploy.recording`) opens one lead of a file: a WFDB
record, an EDF/EDF+ file, or a text export (PhysioNet's, a spreadsheet's, a device's: separators,
decimal commas and encodings are recognised); the sampling rate comes from the file wherever the
file states it. :func:`read_ecg` reads it whole into memory.

:func:`predict_recording` is one pipeline for every model and every length: it resamples the
lead to the model's 360 Hz, finds the R peaks, cuts every beat as the model was trained
(:func:`ecgutils.segment.cut_beats`, the edge beats included), asks the model for its inputs and
its class probabilities (:class:`CnnModel`, :class:`TreesModel`) and answers. It works in
windows of :data:`WINDOW_S` (memory does not grow with the length: a week of ECG included), and
each beat is described against the :data:`REFERENCE_S` around it (its neighbourhood's template
beat and rhythm: its own ten minutes, chosen on DS1), so a recording whose beats change over the
hours is judged as its pieces would be.
:func:`predict_ecg` does the same for a lead already in memory. Sample numbers in the result are
in the
*input's own* numbering (its sampling rate, first sample 0). :func:`classify_file` reads and
predicts; the notebook app, the Voila page and ``python -m ecgutils predict`` all call it, so
they give the same answer.

The models are shipped by name (:data:`MODELS`): ``trees``, the default, in
``ecgutils/resources/trees/`` and the 8-class CNN ``cnn8`` in ``ecgutils/resources/model/``
(:func:`load_deployed_model`), each with its card (classes, training data, measured figures);
``python -m ecgutils ship-model`` retrains and replaces them (:mod:`ecgutils.deploy.release`).

Bad input raises ``ValueError`` (or ``FileNotFoundError``) with a message that says what is
wrong and how to fix it; nothing is written anywhere.
"""

from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.signal import resample_poly

from ..classes import scheme_table, symbol_map
from ..config import MITDB_FS
from ..data import Record
from ..detect import detect_rpeaks
from ..render import remove_baseline
from ..segment import match_to_reference
from .ecgfile import (  # noqa: F401  (re-exported: the deployment's whole interface is here)
    ECG,
    MAX_FILE_BYTES,
    MIN_BEATS,
    ecg_from_array,
)
from .models import (  # noqa: F401  (re-exported)
    DEFAULT_MODEL,
    MODEL_DIR,
    MODELS,
    SELF_TRAINING_FILE,
    TREES_CARD_KEYS,
    TREES_DIR,
    CnnModel,
    DeployedModel,
    TreesModel,
    has_self_training,
    load_deployed_model,
    model_line,
)
from .pacing import FEATURES as PACING_FEATURES
from .pacing import THRESHOLD as PACED_THRESHOLD
from .pacing import PacingDetector, load_detector, paced_windows, pacing_features, pacing_note
from .recording import Recording, open_recording, read_ecg, recording_from_ecg  # noqa: F401
from .windows import (  # noqa: F401  (re-exported)
    MARGIN_S,
    REFERENCE_S,
    REFRACTORY_S,
    WINDOW_S,
    Pieces,
    StepTimes,
    Windows,
    in_threads,
    progress_bar,
)

#: The summary's row of the beats the pacing detector reports (class Q, label Paced).
PACED_ROW = "Q (paced)"
#: The class code of paced beats in the schemes that have one (the paper's 8 classes).
PACED_CLASS = "/"

#: R-peak detector of deployment: the course's Pan & Tompkins (:func:`ecgutils.detect.pan_tompkins`)
#: chosen by ``python -m ecgutils bench records`` (every MIT-BIH record through the pipeline):
#: it finds beats as well as gqrs and puts them on the R peak as MIT-BIH's annotations (gqrs marks
#: a point about 33 ms earlier; Hamilton loses runs of PVCs: record 208). A property of deployment,
#: not of a model: every model is trained on the reference beats.
DEFAULT_DETECTOR = "pantompkins"


def resample(signal: np.ndarray, fs: float, target: float = MITDB_FS) -> np.ndarray:
    """``signal`` at ``fs`` Hz resampled to ``target`` Hz (polyphase, anti-aliased)."""
    if abs(fs - target) < 1e-9:
        return np.asarray(signal, dtype=float)
    ratio = Fraction(target / fs).limit_denominator(1000)
    return resample_poly(np.asarray(signal, dtype=float), ratio.numerator, ratio.denominator)


@dataclass
class Prediction:
    """What :func:`predict_ecg` found in one recording.

    Attributes
    ----------
    beats : DataFrame
        One row per classified beat: ``beat`` (1, 2, ...), ``start``, ``end`` (exclusive) and
        ``r`` in the input's own sample numbering, ``class`` (code), ``label`` (short name),
        ``probability`` (of that class), ``edge`` (True for the first and last beat when the
        signal ends before their neighbour: cut with a window that fits, see
        :func:`ecgutils.segment.cut_beats`), ``paced window`` (True in a part of the recording
        that looks paced, :mod:`ecgutils.deploy.pacing`: its paced-looking beats have class Q,
        label ``Paced``, and the probability of being paced).
    summary : DataFrame
        Per class of the model: ``beats`` and ``share (%)``.
    ecg : ECG or Recording
        What was read (its signal, for a recording read in windows, stays on disk).
    seconds : dict
        Time spent resampling, detecting, drawing and classifying.
    model : str
        Which model answered and what to expect of it on new patients (:func:`model_line`).
    notes : list of str
        What the answer must say first: a part that looks paced
        (:func:`ecgutils.deploy.pacing.pacing_note`; its beats have ``paced window`` True).
    """

    beats: pd.DataFrame
    summary: pd.DataFrame
    ecg: ECG | Recording
    seconds: dict
    model: str = ""
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """One sentence per beat, as the original app printed them."""
        return [
            f"beat {b.beat} from sample {b.start} to {b.end - 1}: {b.label} ({b.probability:.2f})"
            + (" [at the edge of the recording: cut short]" if b.edge else "")
            for b in self.beats.itertuples()
        ]

    def to_json(self) -> str:
        return json.dumps(
            {
                "model": self.model,
                "notes": self.notes,
                "source": self.ecg.source,
                "lead": self.ecg.lead,
                "fs": self.ecg.fs,
                "samples": self.ecg.n_samples,
                "beats": self.beats.to_dict(orient="records"),
                "summary": self.summary.reset_index().to_dict(orient="records"),
            },
            indent=1,
        )


def read_windows(rec, win: Windows, i: int, j: int | None = None) -> tuple[np.ndarray, int]:
    """Windows ``i`` to ``j`` (default ``i``) of ``rec`` with their margins, resampled to the
    model's rate, and the model sample of the first value."""
    lo, hi = win.span(i, j)
    return resample(rec.read(lo, hi), win.fs_in, win.fs), win.at_model_rate(lo)


def detect_in_windows(rec, win: Windows, detector: str, clock=None, bar=None) -> np.ndarray:
    """Every R peak of ``rec``, at the model's rate, found window by window (on every core:
    :func:`in_threads`): each window is read with a margin on both sides (so the detector has
    settled at its edges) and keeps the peaks that fall inside it; a beat seen by both windows
    at a seam is kept once."""

    def detect(i):
        x, offset = read_windows(rec, win, i)
        p = detect_rpeaks(x, win.fs, detector, refine=True) + offset
        start, end = win.bounds(i)
        return p[(p >= start) & (p < end)]

    found = []
    for p in in_threads(detect, range(len(win))):
        if found and len(found[-1]) and len(p):  # the same beat, just before and after the seam
            p = p[p >= found[-1][-1] + REFRACTORY_S * win.fs]
        found.append(p)
        bar and bar.update()
    clock and clock.lap("detect")
    return np.concatenate(found)


def describe_windows(rec, win: Windows, block: range, peaks: np.ndarray, model: DeployedModel,
                     reference_s: float, keep_inputs: bool = False,
                     pacing: bool = False) -> tuple:  # fmt: skip
    """The beats of the windows ``block`` cut, described against their neighbourhoods and
    classified: (beat tables, probabilities, model inputs if ``keep_inputs``, StepTimes). With
    ``pacing``, each beat's table row also holds what the pacing detector takes of it
    (:func:`ecgutils.deploy.pacing.pacing_features`) and its window (``window``)."""
    fs, clock = model.fs, StepTimes()
    pieces = Pieces(lambda j: read_windows(rec, win, j), win, lambda x: model.prepare(x, fs))
    tables, probs, kept, waiting, n_waiting = [], [], [], [], 0
    for i in block:
        first, last = win.neighbourhood(i, reference_s)
        x, offset = pieces.get(first, last)  # the neighbourhood, prepared, with its margins
        clock.lap("resample")
        near_start, near_end = win.bounds(first, last)
        near = peaks[(peaks >= near_start) & (peaks < near_end)] - offset
        table = model.cut(near, len(x), fs)  # every beat of the neighbourhood: the reference
        table.insert(0, "record", rec.source)
        start, end = win.bounds(i)
        r = table["r"].to_numpy() + offset
        rows = np.flatnonzero((r >= start) & (r < end))  # this window's own beats
        inputs = model.inputs(x, fs, table, rows)
        clock.lap("draw")
        waiting.append(inputs)  # classified a window at a time, or many (classify_beats)
        n_waiting += len(rows)
        if n_waiting >= model.classify_beats or i == block[-1]:
            probs.append(model.classify(join_inputs(waiting)))
            kept += waiting if keep_inputs else []
            waiting, n_waiting = [], 0
        clock.lap("classify")
        mine = table.iloc[rows].copy()
        if pacing:
            bare = x if model.baseline_free else remove_baseline(x, fs)
            numbers = pacing_features(bare, fs, table["r"].to_numpy(), rows)
            mine[list(PACING_FEATURES)] = numbers
            mine["window"] = i
            clock.lap("pacing")
        at_start, at_end = first == 0, last == len(win) - 1  # only the recording's ends are edges
        early = mine["r"] < len(x) / 2
        mine["edge"] &= early & at_start | ~early & at_end
        for col in ("r", "start", "end"):  # windows that reach past the recording at its ends
            mine[col] = np.clip(mine[col] + offset, 0, win.n)
        tables.append(mine)
    return tables, probs, kept, clock


def predict_recording(
    rec, model: DeployedModel | None = None, *, detector: str | None = None,
    self_train: bool = False, progress=False, window_s: float = WINDOW_S,
    reference_s: float = REFERENCE_S, pacing: PacingDetector | bool = True,
) -> Prediction:  # fmt: skip
    """Classify every beat of a recording of any length (module docstring). Returns a
    :class:`Prediction`.

    One pipeline for every model, in two passes over windows of ``window_s``: the R peaks
    (:func:`detect_in_windows`), then for each window its beats cut, described against the
    ``reference_s`` of signal around it (the model's ``cut`` and ``inputs`` on that
    neighbourhood) and classified (:func:`describe_windows`; a long recording in blocks of
    windows, one per core at a time). Memory holds a few neighbourhoods and the beat table,
    whatever the length; the answer is in the input's own sample numbering.

    ``self_train`` (trees only): let the recording's own confidently classified beats teach the
    trees before they classify it again (:func:`ecgutils.selftraining.self_train_record`,
    chapter 09), with the training sample the model carries; a few seconds more per recording,
    and the card's *self-trained* figures on new patients instead of the plain ones.
    ``progress``: True for a progress bar (tqdm), or a function called with the share done.
    ``pacing``: look for paced windows with the shipped detector (True), another one, or not
    (False): a paced window's paced-looking beats are reported as Q, Paced (the summary's row
    :data:`PACED_ROW`), and the answer's :attr:`Prediction.notes` say so
    (:mod:`ecgutils.deploy.pacing`). A model with a paced class of its own (``cnn8``) is not
    second-guessed."""

    model = model or load_deployed_model()
    if self_train and not has_self_training(model):
        raise ValueError(
            f"The model {model.name} cannot self-train: it carries no training sample "
            f"({SELF_TRAINING_FILE}). Use the default model (`trees`), or leave out "
            "--self-train / self_train=True."
        )
    fs, clock = model.fs, StepTimes()
    if pacing is False or PACED_CLASS in model.classes:  # cnn8's "/": it says paced beats itself
        pacer = None
    else:
        pacer = load_detector() if pacing is True else pacing
    win = Windows(rec.n_samples, rec.fs, fs, window_s)
    bar = progress_bar(progress, 2 * len(win), f"Reading {rec.source}")
    peaks = detect_in_windows(rec, win, detector or DEFAULT_DETECTOR, clock, bar)
    check_enough_beats(len(peaks), rec)

    def describe(block):  # the beats of a block of windows
        return describe_windows(rec, win, block, peaks, model, reference_s, self_train, bool(pacer))

    tables, probs, features = [], [], []
    blocks = win.blocks()
    for block, (t, p, f, times) in zip(blocks, in_threads(describe, blocks)):
        tables += t
        probs += p
        features += f
        clock.add(times)
        bar.update(len(block))
    bar.close()
    table, probs = pd.concat(tables, ignore_index=True), np.concatenate(probs)
    if self_train:
        probs = model.self_train(np.concatenate(features), probs)
        clock.lap("self-train")
    pred = prediction_from(rec, model, table, probs, fs, clock.seconds, self_trained=self_train)
    if pacer:
        pred = report_paced(pred, table, fs, pacer)
        clock.lap("pacing")
        pred.seconds = clock.seconds
    return pred


def report_paced(pred: Prediction, table: pd.DataFrame, fs: float,
                 detector: PacingDetector) -> Prediction:  # fmt: skip
    """``pred`` with the beats of its paced windows said (``table``: each beat's pacing features
    and ``window``, :func:`describe_windows`; the gate:
    :func:`ecgutils.deploy.pacing.paced_windows`): ``paced window`` True, those that look paced
    reported as Q, Paced (their probability: of being paced), and the note at the top. The
    detector takes every beat in one call."""
    prob = detector.predict_proba(table[list(PACING_FEATURES)].to_numpy(np.float32))
    in_paced = paced_windows(prob, table["window"].to_numpy())
    paced = in_paced & (prob > PACED_THRESHOLD)
    beats = pred.beats
    beats["paced window"] = in_paced
    if paced.any():
        beats.loc[paced, ["class", "label"]] = ["Q", "Paced"]
        beats.loc[paced, "probability"] = prob[paced].round(4)
        # the summary: a row of its own for the paced beats (AAMI Q, but not the model's Q)
        summary = pred.summary
        summary.loc[PACED_ROW] = ["Paced", 0, 0.0]
        counts = beats.loc[~paced, "class"].value_counts().reindex(summary.index, fill_value=0)
        counts[PACED_ROW] = int(paced.sum())
        summary["beats"] = counts.to_numpy()
        summary["share (%)"] = (100 * summary["beats"] / max(len(beats), 1)).round(2)
        pred.notes.append(pacing_note(paced, in_paced, table["r"].to_numpy() / fs))
    return pred


def join_inputs(inputs: list):
    """Several windows' model inputs as one (arrays, or dicts of arrays)."""
    if len(inputs) == 1:
        return inputs[0]
    if isinstance(inputs[0], dict):
        return {k: np.concatenate([d[k] for d in inputs]) for k in inputs[0]}
    return np.concatenate(inputs)


def predict_ecg(ecg: ECG, model: DeployedModel | None = None, **options) -> Prediction:
    """:func:`predict_recording` of a lead already in memory (an :class:`ECG`, kept as the
    answer's ``ecg``)."""
    pred = predict_recording(recording_from_ecg(ecg), model, **options)
    pred.ecg = ecg
    return pred


def predict_strip(
    record: Record, start_s: float, duration_s: float, model: DeployedModel | None = None,
    **options,
) -> Prediction:  # fmt: skip
    """:func:`predict_ecg` of ``duration_s`` seconds of an MIT-BIH ``record`` from ``start_s``
    (s), read as a file's lead would be: sample numbers count from the strip's start."""
    a, b = int(start_s * record.fs), int((start_s + duration_s) * record.fs)
    ecg = ecg_from_array(record.signal[a:b], record.fs, lead=record.lead)
    return predict_ecg(ecg, model, **options)


def check_enough_beats(n_beats: int, ecg: ECG | Recording) -> None:
    """Refuse a recording with fewer than :data:`MIN_BEATS` beats found (``ValueError``)."""
    if n_beats < MIN_BEATS:
        raise ValueError(
            f"{ecg.source}: found {n_beats} beat(s) in {ecg.duration_s:.1f} s of lead "
            f"{ecg.lead}; at least {MIN_BEATS} are needed (their RR intervals are part of the "
            "input). Is the recording long enough, the sampling rate right and the lead an ECG?"
        )


def prediction_from(
    ecg: ECG | Recording,
    model: DeployedModel,
    table,
    probs,
    fs: float,
    seconds,
    self_trained: bool = False,
) -> Prediction:
    """The :class:`Prediction` of beats cut at ``fs`` Hz (``table``: ``start``, ``end``, ``r``,
    ``edge``) with class probabilities ``probs``: samples mapped back to the input's."""
    classes = model.classes
    names = scheme_table(model.card["scheme"])["name"].to_dict()  # a dict: one look-up per beat
    k = probs.argmax(axis=1)
    back = ecg.fs / fs  # model samples -> input samples

    def to_input(s):
        return np.rint(np.asarray(s) * back).astype(np.int64)

    n_in = ecg.n_samples
    beats = pd.DataFrame(
        {
            "beat": np.arange(1, len(table) + 1),
            "start": np.clip(to_input(table["start"]), 0, n_in - 1),
            "end": np.clip(to_input(table["end"]), 1, n_in),
            "r": np.clip(to_input(table["r"]), 0, n_in - 1),
            "class": np.array(classes, dtype=object)[k],
            "label": np.array([names[c] for c in classes], dtype=object)[k],
            "probability": probs[np.arange(len(k)), k].round(4),
            "edge": table["edge"].to_numpy(),
            "paced window": np.zeros(len(table), dtype=bool),  # report_paced says which
        }
    )
    counts = beats["class"].value_counts().reindex(classes, fill_value=0)
    summary = pd.DataFrame(
        {"label": [names[c] for c in classes], "beats": counts.to_numpy()}, index=classes
    )
    summary["share (%)"] = (100 * summary["beats"] / max(len(beats), 1)).round(2)
    summary.index.name = "class"
    summary.attrs["scheme"] = model.card["scheme"]
    return Prediction(beats, summary, ecg, seconds, model_line(model, self_trained=self_trained))


def classify_file(
    path: str | os.PathLike, *, model: DeployedModel | None = None, self_train: bool = False,
    **options,
) -> Prediction:  # fmt: skip
    """:func:`open_recording` (``options``: fs, lead, units, gain, baseline, name) then
    :func:`predict_recording` (``self_train`` and ``progress`` there): what every face of the app
    calls."""
    progress = options.pop("progress", False)
    rec = open_recording(path, **options)
    return predict_recording(rec, model, self_train=self_train, progress=progress)


def classify_bytes(data: bytes, filename: str, **options) -> Prediction:
    """:func:`classify_upload` of one uploaded file."""
    return classify_upload([(filename, data)], **options)


def classify_upload(files: list[tuple[str, bytes]], **options) -> Prediction:
    """:func:`classify_file` (same ``options``) on the files chosen together on the page, given
    as (name, bytes): one file (CSV, EDF), or a WFDB record's header and signal files
    (``rec.hea`` and ``rec.dat``), written to a private temporary folder that is always removed,
    also on error."""
    import tempfile

    import wfdb

    names = [Path(n).name for n, _ in files]
    total = sum(len(d) for _, d in files)
    if not files:
        raise ValueError("Choose an ECG file first (a CSV with one number per row, or a lead).")
    if total > MAX_FILE_BYTES:
        raise ValueError(
            f"{' + '.join(names)} is {total / 2**20:.0f} MB, over the "
            f"{MAX_FILE_BYTES / 2**20:.0f} MB limit: cut the recording into shorter files."
        )
    headers = [n for n in names if n.lower().endswith(".hea")]
    pair = "choose a WFDB record's header and signal file together (rec.hea and rec.dat)"
    one = len(files) == 1 and not headers and not names[0].lower().endswith(".dat")
    if not one and len(headers) != 1:
        raise ValueError(
            f"{' + '.join(names)}: {'no' if not headers else 'more than one'} WFDB header (.hea) "
            f"among them: choose one file (CSV, EDF), or {pair}."
        )
    with tempfile.TemporaryDirectory(prefix="ecg-upload-") as tmp:
        if one:  # under a name of our own: only its suffix says what it is
            path = Path(tmp) / f"upload{Path(names[0]).suffix.lower() or '.csv'}"
            path.write_bytes(files[0][1])
            return classify_file(path, name=files[0][0], **options)
        for name, (_, data) in zip(names, files):
            (Path(tmp) / name).write_bytes(data)
        head = Path(tmp) / headers[0]
        try:
            needed = wfdb.rdheader(str(head.with_suffix(""))).file_name or []
        except Exception as exc:  # wfdb raises many kinds for a damaged header
            raise ValueError(f"{head.name}: cannot read it as a WFDB header ({exc}).") from None
        missing = sorted(set(needed) - set(names))
        if missing:
            raise ValueError(
                f"{head.name} keeps its samples in {', '.join(missing)}, which was not chosen: "
                f"{pair}, holding Ctrl or Shift in the file dialog."
            )
        return classify_file(head, name=head.name, **options)


def export_csv(
    signal: np.ndarray, fs: float, path_or_buffer, *, lead: str = "MLII", style: str = "physionet"
) -> None:
    """Write a signal (mV) as a CSV: ``physionet`` (time, lead, units row), or ``single``
    (one column named ``" Sample Value"``, the original app's sample file)."""
    x = np.asarray(signal, dtype=float)
    if style == "single":
        text = " Sample Value\n" + "\n".join(f"{v:.3f}" for v in x) + "\n"
    elif style == "physionet":
        t = np.arange(len(x)) / fs
        stamps = [f"'{int(s // 60)}:{s % 60:06.3f}'" for s in t]
        rows = "\n".join(f"{s},{v:.3f}" for s, v in zip(stamps, x))
        text = f"'Elapsed time','{lead}'\n'hh:mm:ss.mmm','mV'\n{rows}\n"
    else:
        raise ValueError(f"style must be 'physionet' or 'single', got {style!r}.")
    if isinstance(path_or_buffer, io.TextIOBase):
        path_or_buffer.write(text)
    else:
        Path(path_or_buffer).write_text(text)


def agreement(pred: Prediction, record) -> dict:
    """How a prediction on an MIT-BIH record agrees with its reference annotations.

    Detected beats are matched to reference beats within 150 ms (EC57); a matched beat agrees
    when its predicted class is the reference beat's class in the model's scheme (reference
    beats outside the scheme are left out). The prediction must come from the record's first
    samples at the record's own rate (a CSV exported from it); reference beats after its last
    sample are not counted.

    Returns
    -------
    dict
        ``detected``, ``reference`` (beats), ``matched``, ``scored`` (matched beats with a class
        in the scheme), ``agree`` (count) and ``agreement`` (fraction of ``scored``).
    """

    if abs(pred.ecg.fs - record.fs) > 1e-6:
        raise ValueError(
            f"The prediction is at {pred.ecg.fs:g} Hz and the record at {record.fs:g} Hz: "
            "compare a CSV exported at the record's own rate."
        )
    inside = record.beats.sample < pred.ecg.n_samples  # the stretch that was exported
    ref_sample, ref_symbol = record.beats.sample[inside], record.beats.symbol[inside]
    idx = match_to_reference(pred.beats["r"].to_numpy(), ref_sample, record.fs)
    matched = idx >= 0
    codes = symbol_map(pred.summary.attrs.get("scheme", "paper8"))
    truth = np.array([codes.get(s, "") for s in ref_symbol[idx[matched]]])
    scored = truth != ""
    agree = int((pred.beats["class"].to_numpy()[matched][scored] == truth[scored]).sum())
    return {
        "detected": len(pred.beats),
        "reference": len(ref_sample),
        "matched": int(matched.sum()),
        "scored": int(scored.sum()),
        "agree": agree,
        "agreement": agree / max(int(scored.sum()), 1),
    }
