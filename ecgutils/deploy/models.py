"""The deployed models: the shipped ones by name, how each kind answers the pipeline (notebook 10).

:func:`ecgutils.deploy.predict.predict_recording` asks a model three things
(:class:`DeployedModel`): how it cuts the detected beats, what it takes of each beat, its class
probabilities; the CNN
(:class:`CnnModel`) and the trees (:class:`TreesModel`) answer them their own way.
:func:`load_deployed_model` loads one by name (:data:`MODELS`) or from a folder written by
:mod:`ecgutils.deploy.release`; :func:`model_line` says in one line what it is and what it scores
on new patients.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from ..backend import import_keras
from ..config import MITDB_FS
from ..dataset import network_inputs
from ..render import remove_baseline, render_beats
from ..segment import cut_beats, edge_pad
from ..selftraining import self_train_record
from ..trees import load_trees, recording_features

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


#: Environment variable naming another model folder (one written by ``ship-model --out``).
MODEL_ENV = "ECG_MODEL_DIR"


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
    #: Whether :meth:`prepare` removes the baseline (the pacing detector needs it removed).
    baseline_free = False

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
    baseline_free = True

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
        # 2-core machine spin-wait for each other (10 s for a 10-second strip, measured); and
        # every core for many (50,000 beats: 1.7 s on one core, 0.9 s on two), unless the
        # recording's blocks already run one per core (ecgutils.deploy.windows.in_threads)
        alone = threading.current_thread() is threading.main_thread()
        with threadpool_limits(None if alone and len(inputs) >= 10_000 else 1, user_api="openmp"):
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
