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
beat and rhythm), so a recording whose beats change over the hours is judged as its half-hour
pieces would be; a recording of half an hour or less is one neighbourhood, read as in training.
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
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.signal import resample_poly
from threadpoolctl import threadpool_limits

from ..backend import import_keras
from ..classes import scheme_table, symbol_map
from ..config import MITDB_FS
from ..data import Record
from ..dataset import network_inputs
from ..detect import detect_rpeaks
from ..render import remove_baseline, render_beats
from ..segment import cut_beats, edge_pad, match_to_reference
from ..selftraining import self_train_record
from ..trees import load_trees, recording_features
from .ecgfile import (  # noqa: F401  (re-exported: the deployment's whole interface is here)
    ECG,
    MAX_FILE_BYTES,
    MIN_BEATS,
    ecg_from_array,
)
from .recording import Recording, open_recording, read_ecg, recording_from_ecg  # noqa: F401
from .windows import (  # noqa: F401  (re-exported)
    MARGIN_S,
    REFERENCE_S,
    REFRACTORY_S,
    WINDOW_S,
    Pieces,
    StepTimes,
    Windows,
    progress_bar,
)

#: Where the shipped 8-class CNN (``cnn8``) and its card live.
MODEL_DIR = Path(__file__).parents[1] / "resources" / "model"
#: Where the shipped inter-patient trees (``trees``, AAMI classes) and their card live.
TREES_DIR = Path(__file__).parents[1] / "resources" / "trees"
#: The training sample a trees folder carries for self-training (:func:`has_self_training`).
SELF_TRAINING_FILE = "self_training.npz"
#: The shipped models by name. ``trees``: the inter-patient recipe of chapter 09 trained on all
#: 48 records (N, S, V, F, Q), built to hold on new patients; ``cnn8``: chapter 06's compact CNN
#: (the paper's 8 classes), trained on a random 80% of the beats, which falls short on them.
MODELS = {"trees": TREES_DIR, "cnn8": MODEL_DIR}
#: The model that answers when none is named: every file a user brings comes from a new patient.
DEFAULT_MODEL = "trees"
#: What a model card must say for :func:`predict_ecg` to cut and draw beats as in training.
CARD_KEYS = (
    "classes", "config", "rule", "image_size", "line_width", "scale", "scheme", "fs",
)  # fmt: skip
#: The same for a card of ``kind`` "trees".
TREES_CARD_KEYS = (
    "classes", "rule", "window_s", "image_size", "line_width", "mv_range", "scheme", "fs",
)  # fmt: skip
#: R-peak detector of deployment: the course's Pan & Tompkins (:func:`ecgutils.detect.pan_tompkins`)
#: chosen by ``python -m ecgutils bench records`` (every MIT-BIH record through the pipeline):
#: it finds beats as well as gqrs and puts them on the R peak as MIT-BIH's annotations (gqrs marks
#: a point about 33 ms earlier; Hamilton loses runs of PVCs: record 208). A property of deployment,
#: not of a model: every model is trained on the reference beats.
DEFAULT_DETECTOR = "pantompkins"
#: Environment variable naming another model folder (one written by ``ship-model --out``).
MODEL_ENV = "ECG_MODEL_DIR"


def resample(signal: np.ndarray, fs: float, target: float = MITDB_FS) -> np.ndarray:
    """``signal`` at ``fs`` Hz resampled to ``target`` Hz (polyphase, anti-aliased)."""
    if abs(fs - target) < 1e-9:
        return np.asarray(signal, dtype=float)
    ratio = Fraction(target / fs).limit_denominator(1000)
    return resample_poly(np.asarray(signal, dtype=float), ratio.numerator, ratio.denominator)


@dataclass
class DeployedModel:
    """A trained model with its card (what it was trained on and how it cut beats).

    Deployment (:func:`predict_ecg`) asks a model for three things only, each kind of model
    (:class:`CnnModel`, :class:`TreesModel`) answering them its own way: how it cuts the
    detected beats (:meth:`cut`), what it takes of each beat (:meth:`inputs`) and its class
    probabilities (:meth:`classify`); and, optionally, what it makes of the signal first
    (:meth:`prepare`, once per window) and how many beats it classifies at a time."""

    model: object
    card: dict
    path: Path
    #: Beats classified in one call: 0, each window's; more when a call costs much by itself.
    classify_beats = 0

    @property
    def classes(self) -> list[str]:
        return list(self.card["classes"])

    @property
    def kind(self) -> str:
        """``"cnn"`` (a Keras model on beat images and RR features) or ``"trees"``."""
        return str(self.card.get("kind", "cnn"))

    @property
    def fs(self) -> float:
        """The sampling rate the model was trained at, Hz."""
        return float(self.card.get("fs", MITDB_FS))

    @property
    def name(self) -> str:
        """The shipped model's name (:data:`MODELS`), else its folder."""
        here = Path(self.path).resolve()
        return next((n for n, f in MODELS.items() if f.resolve() == here), str(self.path))

    def cut(self, peaks: np.ndarray, n: int, fs: float) -> pd.DataFrame:
        """Every detected beat cut as in training (:func:`ecgutils.segment.cut_beats`)."""
        raise NotImplementedError

    def prepare(self, x: np.ndarray, fs: float) -> np.ndarray:
        """The signal as :meth:`inputs` takes it (default: as it is)."""
        return x

    def inputs(self, x: np.ndarray, fs: float, table: pd.DataFrame, rows=None):
        """What the model takes of the beats ``rows`` of ``table`` (default all) in the signal
        ``x`` (mV, ``fs`` Hz, :meth:`prepare`-d); every beat of ``table`` is their
        neighbourhood (the reference)."""
        raise NotImplementedError

    def classify(self, inputs) -> np.ndarray:
        """(n_beats, n_classes) class probabilities."""
        raise NotImplementedError


class CnnModel(DeployedModel):
    """A Keras CNN on beat images (and RR features), cut by its card's segmentation rule."""

    def cut(self, peaks: np.ndarray, n: int, fs: float) -> pd.DataFrame:
        return cut_beats(peaks, n, fs, rule=self.card["rule"])

    def inputs(self, x: np.ndarray, fs: float, table: pd.DataFrame, rows=None) -> dict:
        cfg = self.card["config"]
        table = table if rows is None else table.iloc[rows]
        if cfg.get("template") or cfg.get("rhythm") or cfg.get("relative_rr"):
            raise ValueError(
                "This model needs the patient's template or rhythm features, which deployment "
                "does not compute yet: ship a model of a profile's default configuration."
            )
        images = render_beats(
            x, table["start"].to_numpy(), table["end"].to_numpy(),
            size=self.card["image_size"], line_width=self.card["line_width"],
            scale=self.card["scale"],
        )  # fmt: skip
        return network_inputs(images, table, rr=cfg["rr"])

    def classify(self, inputs: dict) -> np.ndarray:
        return _classify(self.model, inputs, len(inputs["image"]))


class TreesModel(DeployedModel):
    """The trees on each beat's trace minus the recording's template and its relative RR
    (:func:`ecgutils.trees.recording_features`), cut with the card's fixed window around R.

    The baseline is removed once per window (:meth:`prepare`); the signal is then extended at
    both ends by its end values for as long as a window, so the first and last beats get a full
    window too (flagged ``edge``: part of it lies outside the recording, drawn flat). The trees
    classify many windows' beats in one call: each call costs a few microseconds per tree."""

    classify_beats = 50_000

    def cut(self, peaks: np.ndarray, n: int, fs: float) -> pd.DataFrame:
        return cut_beats(peaks, n, fs, rule="fixed", window_s=tuple(self.card["window_s"]))

    def prepare(self, x: np.ndarray, fs: float) -> np.ndarray:
        return remove_baseline(x, fs)

    def inputs(self, x: np.ndarray, fs: float, table: pd.DataFrame, rows=None) -> np.ndarray:
        pad = edge_pad(fs, tuple(self.card["window_s"]))
        padded = table.assign(**{c: table[c] + pad for c in ("r", "start", "end")})
        return recording_features(
            np.pad(x, pad, mode="edge"), fs, padded, size=self.card["image_size"],
            line_width=self.card["line_width"], mv_range=self.card["mv_range"], rows=rows,
            baseline_removed=True,
        )  # fmt: skip

    def classify(self, inputs: np.ndarray) -> np.ndarray:
        # one OpenMP thread for a few thousand beats (milliseconds), as two threads on a busy
        # 2-core machine spin-wait for each other (10 s for a 10-second strip, measured); every
        # core for many (50,000 beats: 1.7 s on one core, 0.9 s on two)
        with threadpool_limits(1 if len(inputs) < 10_000 else None, user_api="openmp"):
            return self.model.predict_proba(inputs)

    def self_train(self, features: np.ndarray, probs: np.ndarray) -> np.ndarray:
        """The probabilities after self-training on one recording's beats
        (:func:`ecgutils.selftraining.self_train_record`, with the sample the model carries)."""
        st = self.card["self-training"]
        try:
            with np.load(Path(self.path) / SELF_TRAINING_FILE) as z:
                x, y, stands = z["features"].astype(np.float32), z["labels"], z["stands_for"]
        except (OSError, ValueError, KeyError) as exc:
            raise ValueError(
                f"Cannot read {Path(self.path) / SELF_TRAINING_FILE} ({type(exc).__name__}: "
                f"{exc}): run `python -m ecgutils ship-model --kind trees` to save the model again."
            ) from None
        out, _ = self_train_record(
            x, y, features, probs, self.classes, confidence=st["confidence"],
            local_weight=st["local_weight"], stands_for=stands, balance_power=st["balance_power"],
            max_iter=st["max_iter"], seed=st["seed"],
        )  # fmt: skip
        return out


def load_deployed_model(path: str | os.PathLike | None = None) -> DeployedModel:
    """The model named ``path`` (a key of :data:`MODELS`) or in the folder ``path``, else in
    ``$ECG_MODEL_DIR``, else the default (:data:`DEFAULT_MODEL`); folders are written by
    :func:`ecgutils.deploy.release.ship_model` and :func:`ecgutils.deploy.release.ship_trees`.

    A trees folder holds a pickle: load only folders you trust (pickles run code)."""
    chosen = path or os.environ.get(MODEL_ENV) or DEFAULT_MODEL
    folder = MODELS[chosen] if isinstance(chosen, str) and chosen in MODELS else Path(chosen)
    card_file = folder / "card.json"
    weights = [f for f in ("model.keras", "trees.pkl") if (folder / f).is_file()]
    if not card_file.is_file() or not weights:
        named = isinstance(chosen, str) and chosen in MODELS
        if not named and not folder.exists() and isinstance(chosen, str) and os.sep not in chosen:
            raise ValueError(
                f"No model named {chosen!r}: choose {' or '.join(MODELS)}, or give a folder "
                "written by `python -m ecgutils ship-model --out FOLDER`."
            )
        kind = " --kind trees" if folder.resolve() == TREES_DIR.resolve() else ""
        raise FileNotFoundError(
            f"No model in {folder}: run `python -m ecgutils ship-model{kind}` to train and save "
            "one."
        )
    try:
        card = json.loads(card_file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"The model card {card_file} is not valid JSON ({exc}).") from None
    if isinstance(card, dict) and card.get("kind") == "trees":
        return _load_trees(folder, card)
    model_file = folder / "model.keras"
    missing = [k for k in CARD_KEYS if not isinstance(card, dict) or k not in card]
    if not model_file.is_file():
        missing.append("model.keras beside it")
    if missing:
        raise ValueError(
            f"The model card {card_file} lacks {', '.join(missing)}: it was written by another "
            "version of the course. Run `python -m ecgutils ship-model` to save the model again, "
            "or leave --model out to use the shipped one."
        )
    keras = import_keras()
    try:
        model = keras.saving.load_model(model_file, compile=False)
    except Exception as exc:  # Keras raises many kinds for a damaged or foreign file
        raise ValueError(
            f"Cannot load {model_file} ({type(exc).__name__}: {exc}): run `python -m ecgutils "
            "ship-model` to save the model again."
        ) from None
    return CnnModel(model, card, folder)


def _load_trees(folder: Path, card: dict) -> DeployedModel:
    missing = [k for k in TREES_CARD_KEYS if k not in card]
    if missing or not (folder / "trees.pkl").is_file():
        raise ValueError(
            f"The trees card {folder / 'card.json'} lacks "
            f"{', '.join(missing) or 'trees.pkl beside it'}: it was written by another version of "
            "the course. Run `python -m ecgutils ship-model --kind trees` to save it again."
        )
    try:
        trees = load_trees(folder / "trees.pkl")  # scikit-learn's models and their settings
    except Exception as exc:  # a damaged file, or one of another scikit-learn
        raise ValueError(
            f"Cannot load {folder / 'trees.pkl'} ({type(exc).__name__}: {exc}): run `python -m "
            "ecgutils ship-model --kind trees` to save the trees again."
        ) from None
    return TreesModel(trees, card, folder)


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
        :func:`ecgutils.segment.cut_beats`).
    summary : DataFrame
        Per class of the model: ``beats`` and ``share (%)``.
    ecg : ECG or Recording
        What was read (its signal, for a recording read in windows, stays on disk).
    seconds : dict
        Time spent resampling, detecting, drawing and classifying.
    model : str
        Which model answered and what to expect of it on new patients (:func:`model_line`).
    """

    beats: pd.DataFrame
    summary: pd.DataFrame
    ecg: ECG | Recording
    seconds: dict
    model: str = ""

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
    """Every R peak of ``rec``, at the model's rate, found window by window: each window is read
    with a margin on both sides (so the detector has settled at its edges) and keeps the peaks
    that fall inside it; a beat seen by both windows at a seam is kept once."""
    found = []
    for i in range(len(win)):
        x, offset = read_windows(rec, win, i)
        clock and clock.lap("resample")
        p = detect_rpeaks(x, win.fs, detector, refine=True) + offset
        start, end = win.bounds(i)
        p = p[(p >= start) & (p < end)]
        if found and len(found[-1]) and len(p):  # the same beat, just before and after the seam
            p = p[p >= found[-1][-1] + REFRACTORY_S * win.fs]
        found.append(p)
        clock and clock.lap("detect")
        bar and bar.update()
    return np.concatenate(found)


def predict_recording(
    rec, model: DeployedModel | None = None, *, detector: str | None = None,
    self_train: bool = False, progress=False, window_s: float = WINDOW_S,
    reference_s: float = REFERENCE_S,
) -> Prediction:  # fmt: skip
    """Classify every beat of a recording of any length (module docstring). Returns a
    :class:`Prediction`.

    One pipeline for every model, in two passes over windows of ``window_s``: the R peaks
    (:func:`detect_in_windows`), then for each window its beats cut, described against the
    ``reference_s`` of signal around it (the model's ``cut`` and ``inputs`` on that
    neighbourhood) and classified. Memory holds one neighbourhood and the beat table, whatever
    the length; the answer is in the input's own sample numbering.

    ``self_train`` (trees only): let the recording's own confidently classified beats teach the
    trees before they classify it again (:func:`ecgutils.selftraining.self_train_record`,
    chapter 09), with the training sample the model carries; a few seconds more per recording,
    and the card's *self-trained* figures on new patients instead of the plain ones.
    ``progress``: True for a progress bar (tqdm), or a function called with the share done."""

    model = model or load_deployed_model()
    if self_train and not has_self_training(model):
        raise ValueError(
            f"The model {model.name} cannot self-train: it carries no training sample "
            f"({SELF_TRAINING_FILE}). Use the default model (`trees`), or leave out "
            "--self-train / self_train=True."
        )
    fs, clock = model.fs, StepTimes()
    win = Windows(rec.n_samples, rec.fs, fs, window_s)
    bar = progress_bar(progress, 2 * len(win), f"Reading {rec.source}")
    peaks = detect_in_windows(rec, win, detector or DEFAULT_DETECTOR, clock, bar)
    check_enough_beats(len(peaks), rec)

    pieces = Pieces(lambda j: read_windows(rec, win, j), win, lambda x: model.prepare(x, fs))
    tables, probs, features, waiting = [], [], [], []
    for i in range(len(win)):
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
        if sum(map(len, waiting)) >= model.classify_beats or i == len(win) - 1:
            probs.append(model.classify(join_inputs(waiting)))
            features += waiting if self_train else []
            waiting = []
        clock.lap("classify")
        mine = table.iloc[rows].copy()
        at_start, at_end = first == 0, last == len(win) - 1  # only the recording's ends are edges
        early = mine["r"] < len(x) / 2
        mine["edge"] &= early & at_start | ~early & at_end
        for col in ("r", "start", "end"):  # windows that reach past the recording at its ends
            mine[col] = np.clip(mine[col] + offset, 0, win.n)
        tables.append(mine)
        bar.update()
    bar.close()
    table, probs = pd.concat(tables, ignore_index=True), np.concatenate(probs)
    if self_train:
        probs = model.self_train(np.concatenate(features), probs)
        clock.lap("self-train")
    return prediction_from(rec, model, table, probs, fs, clock.seconds, self_trained=self_train)


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
    names = scheme_table(model.card["scheme"])["name"]
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
            "class": [classes[i] for i in k],
            "label": [names[classes[i]] for i in k],
            "probability": probs[np.arange(len(k)), k].round(4),
            "edge": table["edge"].to_numpy(),
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


def has_self_training(model: DeployedModel) -> bool:
    """Whether ``model`` can self-train on a recording: trees whose card describes it and whose
    folder holds the training sample (:data:`SELF_TRAINING_FILE`)."""
    return (
        model.kind == "trees"
        and "self-training" in model.card
        and (Path(model.path) / SELF_TRAINING_FILE).is_file()
    )


#: Beats classified per call: every call has this shape (the last one padded), so the network's
#: kernels are prepared once, not again for every file length. Small calls are faster here than
#: large ones (measured with ``bench predict`` on 2 cores: 128 and 64 beats per call classify
#: record 100 in 2.1 s, 256 in 2.6 s, 1024 in 3.7 s, 32 in 2.6 s).
CHUNK = 128


def _classify(net, inputs: dict, n: int) -> np.ndarray:
    out = []
    for i in range(0, n, CHUNK):
        part = {k: v[i : i + CHUNK] for k, v in inputs.items()}
        m = len(part["image"])
        if m < CHUNK:
            part = {k: np.concatenate([v, np.zeros((CHUNK - m, *v.shape[1:]), v.dtype)])
                    for k, v in part.items()}  # fmt: skip
        out.append(np.asarray(net.predict_on_batch(part))[:m])
    return np.concatenate(out)


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


def model_line(model: DeployedModel, *, self_trained: bool = False) -> str:
    """One line saying which model answers and what to expect of it on a new patient (the
    card's ``measured`` figure whose name starts with "new patients", the self-trained one when
    ``self_trained``), for every face of the app: the command line's first line, the page's
    status, the JSON's ``model``."""
    card = model.card
    name = model.name
    where = f"shipped '{name}'" if name in MODELS else name
    n = len(card["classes"])
    text = f"{card.get('model', 'a model')} ({where}; {n} classes, {card['scheme']})"
    if self_trained:
        text += ", self-trained on this recording's beats"
    new = [
        v for k, v in (card.get("measured") or {}).items()
        if k.startswith("new patients") and ("self-trained" in k) == self_trained
    ]  # fmt: skip
    if new and isinstance(new[0], dict) and "accuracy" in new[0]:
        m = new[0]
        extra = (
            f", macro sensitivity {m['macro sensitivity']:.2f}%" if "macro sensitivity" in m else ""
        )
        text += f"; on new patients: {m['accuracy']:.2f}% accuracy{extra}"
    else:
        text += "; on new patients: not measured (see its card)"
    return text


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
