"""Training: from the cached beat arrays to a saved model, with its metadata.

:func:`load_or_train` is what the notebooks call: it builds (or reads) the profile's data set,
splits it (stratified beat-level hold-out, 20% test; 10% of the rest for early stopping),
trains the profile's model, evaluates it on the test beats and keeps everything in the store
(:mod:`ecgutils.store`, ``data/models/model/<profile>-<model>-<key>/``): ``model.keras``,
``metadata.json`` (class scheme, image size, profile, data fingerprint, configuration, metrics,
timings), ``history.csv`` and ``split.npz``. The key hashes every setting, the data set's key,
the training code and the library versions, so asking again returns the saved model and a
changed setting (or changed code) trains a new one.

The input pipeline is ``tf.data``: batches of (beat, crop) pairs are gathered from the arrays,
cropped on the fly (:func:`ecgutils.augment.apply_crops`, arrhythmia classes only), shuffled
every epoch with a fixed seed. Class balance is handled by class weights or by oversampling.
A ``tf.distribute`` strategy can be passed to use one or several GPUs.

Source: chapter 06 (``notebooks/06_training.ipynb``) writes :func:`make_dataset`,
:func:`fit_network` (cells marked ``#| export``; a test fails when chapter and package differ).
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from . import store
from .augment import N_VARIANTS, apply_crops, augmentation_index, augmented_classes
from .backend import import_keras, import_tensorflow
from .classes import scheme_classes
from .config import Profile, get_profile
from .dataset import BeatDataset, beat_features, build_dataset, cache_key, network_inputs
from .evaluate import classification_metrics, ec57_metrics, holdout_split, interpatient_split

#: The networks :func:`ecgutils.models.build_model` knows by name. Any other ``model`` is yours:
#: pass the function that builds it (:func:`load_or_train`, :func:`train_model`).
BUILTIN_MODELS = ("compact", "paper")
BALANCES = ("class_weight", "oversample", "none")
AUGMENTS = ("none", "random", "enlarge")
#: ``beat``: stratified beat-level hold-out (the paper). ``interpatient``: de Chazal's DS1 ->
#: DS2, early stopping on DS1 patients (:func:`ecgutils.evaluate.interpatient_split`).
SPLITS = ("beat", "interpatient")


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a trained model (see :class:`ecgutils.config.Profile`)."""

    model: str = "compact"
    size: int = 32
    rr: bool = True
    epochs: int = 6
    batch_size: int = 128
    balance: str = "class_weight"
    balance_power: float = 0.5
    augment: str = "none"
    scheme: str = "paper8"
    learning_rate: float = 2e-3
    test_fraction: float = 0.2
    val_fraction: float = 0.1
    patience: int = 3
    seed: int = 2018
    rule: str | None = None  # segmentation rule; None: the profile's
    scale: str | None = None  # image scale; None: the profile's ("patient" for templates)
    template: bool = False  # second image channel: the record's median beat
    rhythm: bool = False  # add rhythm-irregularity features to the RR input
    relative_rr: bool = False  # RR input relative to the patient's rhythm only (no seconds)
    ensemble: int = 1  # networks trained with seeds seed, seed + 1, ...; probabilities averaged
    ignore_classes: tuple[str, ...] = ()  # left out of training and validation, still tested
    split: str = "beat"
    precise_bn: bool = False  # batch-norm statistics recomputed before each validation

    def __post_init__(self):
        if self.ensemble < 1:
            raise ValueError(f"ensemble must be 1 or more networks, got {self.ensemble}.")
        if self.split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {self.split!r}.")
        if self.template and self.scale != "patient":
            raise ValueError("template=True needs scale='patient' (templates come with it).")
        if (self.rhythm or self.relative_rr) and not self.rr:
            raise ValueError("rhythm and relative_rr change the RR input: they need rr=True.")
        if self.balance not in BALANCES:
            raise ValueError(f"balance must be one of {BALANCES}, got {self.balance!r}.")
        if self.augment not in AUGMENTS:
            raise ValueError(f"augment must be one of {AUGMENTS}, got {self.augment!r}.")
        if not isinstance(self.model, str) or not self.model.isidentifier():
            raise ValueError(
                f"model must be 'compact', 'paper' or the name of your builder, got {self.model!r}."
            )
        if self.model == "paper" and self.rr:
            raise ValueError("The paper's CNN takes images only: use rr=False with model='paper'.")


def config_from_profile(profile: Profile | str | None = None, **overrides) -> TrainConfig:
    """The training configuration a profile implies, with keyword overrides."""
    p = get_profile(profile)
    base = {
        "model": p.model,
        "size": p.image_size,
        "rr": p.rr,
        "epochs": p.epochs,
        "batch_size": p.batch_size,
        "balance": p.balance,
        "augment": p.augment,
        "scheme": p.scheme,
        "seed": p.seed,
        "precise_bn": p.precise_bn,
    }
    base.update(overrides)
    return TrainConfig(**base)


def class_weights(labels: np.ndarray, n_classes: int, *, power: float = 0.5, cap: float = 50.0):
    """Keras class weights ``(max count / count) ** power``, capped; 1 for the largest class.

    ``power=1`` fully balances the loss; the default square root softens it, which keeps the
    majority class's accuracy while lifting rare classes.
    """
    counts = np.bincount(np.asarray(labels), minlength=n_classes).astype(float)
    with np.errstate(divide="ignore"):
        w = np.where(counts > 0, (counts.max() / counts) ** power, 1.0)
    return {k: float(min(w[k], cap)) for k in range(n_classes)}


def oversample(index: np.ndarray, labels: np.ndarray, seed: int, *, power: float = 0.5):
    """Resample ``index`` (same length) so class k is drawn in proportion to count_k ** power."""
    rng = np.random.default_rng(seed)
    lab = labels[index]
    classes, counts = np.unique(lab, return_counts=True)
    target = counts.astype(float) ** power
    target = target / target.sum()
    per_beat = dict(zip(classes, target / counts))
    p = np.array([per_beat[c] for c in lab])
    return rng.choice(index, size=len(index), replace=True, p=p / p.sum())


def epoch_pairs(index: np.ndarray, labels: np.ndarray, cfg: TrainConfig, seed: int):
    """(beat, crop) pairs of one training epoch, after balancing and augmentation.

    ``augment="none"``: crop 0 only. ``"random"``: each arrhythmia beat appears once with a
    random variant 0-9. ``"enlarge"``: each arrhythmia beat appears with all ten variants.
    """
    rng = np.random.default_rng(seed)
    if cfg.balance == "oversample":
        index = oversample(index, labels, seed, power=cfg.balance_power)
    if cfg.augment == "enlarge":
        sub = np.full(len(labels), -1)
        sub[index] = labels[index]
        beat, crop = augmentation_index(sub, cfg.scheme)
        # keep duplicates from oversampling: map back through the (possibly repeated) index
        counts = np.bincount(index, minlength=len(labels))
        reps = counts[beat]
        return np.repeat(beat, reps), np.repeat(crop, reps)
    crop = np.zeros(len(index), dtype=np.int64)
    if cfg.augment == "random":
        grow = np.isin(labels[index], augmented_classes(cfg.scheme))
        crop[grow] = rng.integers(0, N_VARIANTS, size=int(grow.sum()))
    return index, crop


def model_features(ds: BeatDataset, cfg: TrainConfig) -> np.ndarray:
    """(n, 7) RR features of every beat (relative ones with ``relative_rr``), plus 4 rhythm
    features with ``rhythm`` (:func:`ecgutils.dataset.beat_features`)."""
    return beat_features(ds.beats, relative_rr=cfg.relative_rr, rhythm=cfg.rhythm)


def model_inputs(ds: BeatDataset, index: np.ndarray, cfg: TrainConfig) -> dict:
    """The network inputs of the beats ``index``, uncropped, as arrays: ``image``
    ``(n, size, size, channels)`` float32 (the beat, and its record's template with
    ``cfg.template``) and, with ``cfg.rr``, ``rr`` ``(n, k)``
    (:func:`ecgutils.dataset.network_inputs`, which deployment uses too)."""
    return network_inputs(
        ds.images,
        ds.beats,
        index,
        rr=cfg.rr,
        relative_rr=cfg.relative_rr,
        rhythm=cfg.rhythm,
        templates=ds.templates if cfg.template else None,
        template_index=ds.template_index() if cfg.template else None,
    )


def recalibrate_batchnorm(model, inputs: dict, *, chunk: int = 128) -> None:
    """Set every batch-norm layer's moving mean and variance to the statistics of ``inputs``:
    the average of the statistics of its chunks of ``chunk`` beats (weighted by their size),
    passed in training mode one after the other, each with the momentum set to the share of
    the beats before it (the variance is the within-chunk one, a hair under the whole
    sample's).

    Short CPU runs of a network with Keras' default momentum (0.99) judge the model with
    moving statistics still close to their initial values; the paper's CNN then predicts one
    class at inference however well it trains ("precise batch norm", Wu & Johnson 2021).
    Chunks bound the memory: 910 beats through the paper's CNN in one call took 4.2 GB
    (chapter 11's first run peaked at 6 GB), 128 at a time about a seventh of that.
    """
    keras = import_keras()

    def walk(layer):
        for sub in getattr(layer, "layers", []):
            yield sub
            yield from walk(sub)

    layers = [m for m in walk(model) if isinstance(m, keras.layers.BatchNormalization)]
    saved = [m.momentum for m in layers]
    try:
        names = [t.name.split(":")[0] for t in model.inputs]
        x = [inputs[k] for k in names]
        seen = 0
        for start in range(0, len(x[0]), chunk):
            part = [v[start : start + chunk] for v in x]
            for m in layers:  # weight of what came before: the moving values average the chunks
                m.momentum = seen / (seen + len(part[0]))
            model(part if isinstance(model.input, list) else part[0], training=True)
            seen += len(part[0])
    finally:
        for m, momentum in zip(layers, saved):
            m.momentum = momentum


def precise_bn_callback(ds: BeatDataset, train_idx: np.ndarray, cfg: TrainConfig):
    """A callback that recalibrates batch norm on a fixed random sample of training beats
    before every validation (so early stopping and the checkpoint see the real model)."""
    keras = import_keras()

    size = ds.images.shape[1]
    n = int(np.clip(2**27 // (size * size * 64), 128, 1024))  # bounds the activations' memory
    rng = np.random.default_rng(cfg.seed)
    sample = np.sort(rng.choice(train_idx, size=min(n, len(train_idx)), replace=False))
    inputs = model_inputs(ds, sample, cfg)

    class PreciseBatchNorm(keras.callbacks.Callback):
        def on_test_begin(self, logs=None):
            recalibrate_batchnorm(self.model, inputs)

    return PreciseBatchNorm()


def make_dataset(ds: BeatDataset, index: np.ndarray, cfg: TrainConfig, *, training: bool):
    """A ``tf.data.Dataset`` of ((image, rr), label) batches over ``index``.

    Training: pairs from :func:`epoch_pairs`, shuffled every epoch, crops made on the fly.
    Otherwise: the beats in order, uncropped.
    """
    tf = import_tensorflow()

    labels = ds.labels(cfg.scheme)
    rr = model_features(ds, cfg)
    tmpl = ds.template_index() if cfg.template else None
    if training:
        beat, crop = epoch_pairs(index, labels, cfg, cfg.seed)
    else:
        beat, crop = np.asarray(index), np.zeros(len(index), dtype=np.int64)
    size = ds.images.shape[1]

    channels = 2 if cfg.template else 1

    def cropped(images, c):
        return apply_crops(images, c) if c.any() else images

    def gather(b, c):
        images = cropped(ds.images[b], c)[..., None]
        if tmpl is not None:
            extra = cropped(ds.templates[tmpl[b]], c)[..., None]
            images = np.concatenate([images, extra], axis=-1)
        return images.astype(np.float32), rr[b], labels[b].astype(np.int64)

    def load(b, c):
        x, r, y = tf.numpy_function(gather, [b, c], [tf.float32, tf.float32, tf.int64])
        x.set_shape([None, size, size, channels])
        r.set_shape([None, rr.shape[1]])
        y.set_shape([None])
        return ({"image": x, "rr": r} if cfg.rr else x), y

    data = tf.data.Dataset.from_tensor_slices((beat, crop))
    if training:
        data = data.shuffle(len(beat), seed=cfg.seed, reshuffle_each_iteration=True)
    data = data.batch(cfg.batch_size).map(load, num_parallel_calls=tf.data.AUTOTUNE)
    return data.prefetch(tf.data.AUTOTUNE)


def predict(model, ds: BeatDataset, index: np.ndarray, cfg: TrainConfig) -> np.ndarray:
    """(n, n_classes) class probabilities for the beats ``index`` of ``ds``."""
    tf = import_tensorflow()

    if len(index) == 0:
        return np.zeros((0, model.outputs[0].shape[-1]), dtype=np.float32)
    data = make_dataset(ds, index, dataclasses.replace(cfg, batch_size=512), training=False)
    data = data.map(lambda x, y: x)
    # one traced function for any batch size (Keras' predict traces a full batch, then the last)
    step = tf.function(lambda x: model(x, training=False), input_signature=[data.element_spec])
    return np.concatenate([step(x).numpy() for x in data])


@dataclass
class TrainedModel:
    """A trained model with everything needed to use and judge it."""

    model: object
    config: TrainConfig
    metadata: dict
    history: pd.DataFrame
    dataset: BeatDataset
    split: dict = field(default_factory=dict)  # train / val / test beat indices
    folder: Path | None = None  # its entry in the store (None: not saved)

    def predict(self, index: np.ndarray) -> np.ndarray:
        """Class probabilities of the data set's beats ``index``."""
        return predict(self.model, self.dataset, index, self.config)

    @property
    def metrics(self) -> dict:
        """Test-set metrics (:func:`ecgutils.evaluate.classification_metrics`)."""
        return self.metadata["metrics"]


def config_key(cfg: TrainConfig) -> dict:
    """The configuration as it enters a model's key: every field (tuples as lists)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(cfg).items()}


def model_spec(
    profile: Profile | str | None, cfg: TrainConfig, data_key: str, architecture: str | None = None
) -> store.Spec:
    """The store entry of a model trained with ``cfg`` on the data set whose key is
    ``data_key`` (:func:`ecgutils.dataset.cache_key`); ``architecture``: the
    :func:`architecture_key` of a network of yours (built-in networks are keyed by their code)."""
    prof = get_profile(profile)
    params = {"config": config_key(cfg)}
    if architecture is not None:
        params["architecture"] = architecture
    return store.Spec(
        kind="model",
        label=f"{prof.name}-{cfg.model}",
        params=params,
        module=__name__,
        data=data_key,
    )


def train_model(
    cfg: TrainConfig,
    ds: BeatDataset,
    train_idx: np.ndarray,
    val_idx: np.ndarray,
    *,
    build=None,
    strategy=None,
    out_dir: str | os.PathLike | None = None,
    verbose: int = 1,
):
    """Train one model. Returns (keras model with the best weights, history frame, seconds).

    ``build``: a function that builds your network (see :func:`builder_arguments`); None builds
    ``cfg.model``, one of :data:`BUILTIN_MODELS`.
    ``out_dir``: where the best checkpoint and ``history.csv`` go (a temporary folder if None).
    With ``cfg.ensemble = k > 1``, k networks are trained with seeds ``seed, seed + 1, ...``
    (each early-stopped on its own) and returned as one Keras model that averages their class
    probabilities; the history has a ``member`` column.
    """
    if cfg.ensemble == 1:
        return fit_network(
            cfg, ds, train_idx, val_idx, build=build, strategy=strategy, out_dir=out_dir,
            verbose=verbose,
        )  # fmt: skip
    keras = import_keras()

    members, histories, seconds = [], [], 0.0
    for k in range(cfg.ensemble):
        member_cfg = dataclasses.replace(cfg, seed=cfg.seed + k, ensemble=1)
        sub = None if out_dir is None else Path(out_dir) / f"member-{k}"
        model, history, secs = fit_network(
            member_cfg, ds, train_idx, val_idx, build=build, strategy=strategy, out_dir=sub,
            verbose=verbose,
        )  # fmt: skip
        model.name = f"{model.name}_seed{member_cfg.seed}"  # names must be unique in the ensemble
        members.append(model)
        histories.append(history.assign(member=k))
        seconds += secs
    inputs = [keras.Input(tuple(x.shape[1:]), name=x.name.split(":")[0]) for x in members[0].inputs]
    call = inputs if len(inputs) > 1 else inputs[0]
    mean = keras.layers.Average(name="ensemble_mean")([m(call) for m in members])
    ensemble = keras.Model(inputs, mean, name=f"ensemble_of_{cfg.ensemble}")
    history = pd.concat(histories, ignore_index=True)
    if out_dir is not None:
        for k in range(cfg.ensemble):
            shutil.rmtree(Path(out_dir) / f"member-{k}", ignore_errors=True)
        history.to_csv(Path(out_dir) / "history.csv", index=False)
    return ensemble, history, seconds


def builder_arguments(cfg: TrainConfig, ds: BeatDataset) -> dict:
    """The keyword arguments a network builder is called with, after ``(size, n_classes)``:
    ``rr`` (bool: add the input ``rr``), ``channels`` (1, or 2 with the patient's template) and
    ``n_features`` (length of ``rr``).

    A builder of your own has the signature of :func:`ecgutils.models.compact_cnn`:
    ``build(size, n_classes, *, rr, channels, n_features) -> keras.Model``, with an input named
    ``image`` of shape ``(size, size, channels)`` (uint8 values, 255 = background) and, when
    ``rr`` is True, an input named ``rr`` of shape ``(n_features,)``; its output is
    ``n_classes`` probabilities (softmax).
    """
    return {
        "rr": cfg.rr,
        "channels": 2 if cfg.template else 1,
        "n_features": int(model_features(ds, cfg).shape[1]),
    }


def build_network(cfg: TrainConfig, ds: BeatDataset, build=None):
    """The untrained network for ``cfg`` on ``ds``: ``build(size, n_classes, **builder_arguments)``,
    or the built-in ``cfg.model``; its inputs are checked against what training feeds."""
    from .models import build_model  # deferred: ecgutils.models loads TensorFlow

    n_classes = len(scheme_classes(cfg.scheme))
    kwargs = builder_arguments(cfg, ds)
    if build is None:
        if cfg.model not in BUILTIN_MODELS:
            raise ValueError(
                f"model {cfg.model!r} is not built in ({', '.join(BUILTIN_MODELS)}): pass the "
                f"function that builds it, e.g. load_or_train(profile, model={cfg.model})."
            )
        return build_model(cfg.model, cfg.size, n_classes, **kwargs)
    model = build(cfg.size, n_classes, **kwargs)
    expected = {"image": (cfg.size, cfg.size, kwargs["channels"])}
    if cfg.rr:
        expected["rr"] = (kwargs["n_features"],)
    got = {x.name.split(":")[0]: tuple(x.shape[1:]) for x in getattr(model, "inputs", None) or []}
    out = tuple(getattr(model, "output_shape", ()) or ())[1:]
    if got != expected or out != (n_classes,):
        raise ValueError(
            f"{cfg.model} has inputs {got} and output {out}; training feeds {expected} and "
            f"expects ({n_classes},) class probabilities. Name the inputs 'image' (and 'rr'), "
            "use the size, channels and n_features it is called with, and end with "
            f"Dense({n_classes}, activation='softmax')."
        )
    return model


def architecture_key(model) -> str:
    """12 hex digits that identify a network's architecture (layers, shapes, initialisers),
    whatever Keras numbered its layers in this session: what keys a model of yours in the
    store, so an edited builder never gets an old model back."""
    conf = json.loads(model.to_json())
    names = {layer.name: f"layer{i}" for i, layer in enumerate(model.layers)}

    def renamed(obj):
        if isinstance(obj, dict):
            return {k: renamed(v) for k, v in obj.items()}
        if isinstance(obj, list):
            return [renamed(v) for v in obj]
        return names.get(obj, obj) if isinstance(obj, str) else obj

    return store.key_of(renamed(conf))


def _builder(model, keras):
    """(name, build function) for ``model=`` given as a function or a Keras model."""
    if isinstance(model, keras.Model):
        template = model

        def build(*_args, **_kwargs):  # fresh weights, the same layers
            return keras.models.clone_model(template)

        return template.name, build
    if callable(model):
        return model.__name__, model
    raise ValueError(
        f"model must be a name ({', '.join(BUILTIN_MODELS)}), a function that builds a Keras "
        f"model, or a Keras model; got {type(model).__name__}."
    )


def fit_network(cfg, ds, train_idx, val_idx, *, build=None, strategy=None, out_dir=None, verbose=1):
    """Build, compile and fit one network on the beats ``train_idx``, early-stopped on
    ``val_idx``. Returns (the model with the best validation loss's weights, the history as a
    frame, seconds of fitting)."""
    keras = import_keras()
    tf = import_tensorflow()

    keras.utils.set_random_seed(cfg.seed)  # the same weights and batches every run
    strategy = strategy or tf.distribute.get_strategy()  # several GPUs: MirroredStrategy()
    n_classes = len(scheme_classes(cfg.scheme))
    labels = ds.labels(cfg.scheme)
    train_data = make_dataset(ds, train_idx, cfg, training=True)
    val_data = make_dataset(ds, val_idx, cfg, training=False)
    steps = int(train_data.cardinality().numpy())  # batches per epoch
    with strategy.scope():
        model = build_network(cfg, ds, build)
        # Adam, its step size decaying along a cosine from learning_rate to 0 over the run
        schedule = keras.optimizers.schedules.CosineDecay(cfg.learning_rate, cfg.epochs * steps)
        model.compile(
            optimizer=keras.optimizers.Adam(schedule),
            loss="sparse_categorical_crossentropy",  # labels are class indices
            metrics=["accuracy"],
        )
        # Adam's moments and the metrics' totals now, not inside the first traced step: a step
        # that creates variables is traced twice (seconds of every fit on a CPU). Keras does
        # this itself only under a distribution strategy.
        model._symbolic_build(data_batch=train_data.element_spec)
    work = Path(out_dir) if out_dir is not None else Path(tempfile.mkdtemp(prefix="ecg-train-"))
    work.mkdir(parents=True, exist_ok=True)
    callbacks = [precise_bn_callback(ds, train_idx, cfg)] if cfg.precise_bn else []
    callbacks += [
        # stop when the validation loss has not improved for `patience` epochs; keep the best
        keras.callbacks.EarlyStopping(
            monitor="val_loss", patience=cfg.patience, restore_best_weights=True
        ),
        keras.callbacks.ModelCheckpoint(
            str(work / "best.keras"), monitor="val_loss", save_best_only=True
        ),
        keras.callbacks.CSVLogger(str(work / "history.csv")),  # one row per epoch
    ]
    if verbose == 1:
        callbacks.append(progress_bars())
    weights = (  # a rare class's beats weigh more in the loss (balance="class_weight")
        class_weights(labels[train_idx], n_classes, power=cfg.balance_power)
        if cfg.balance == "class_weight"
        else None
    )
    t0 = time.perf_counter()
    model.fit(
        train_data,
        validation_data=val_data,
        epochs=cfg.epochs,
        class_weight=weights,
        shuffle=False,  # tf.data shuffles every epoch itself
        callbacks=callbacks,
        verbose=0 if verbose == 1 else verbose,
    )
    seconds = time.perf_counter() - t0
    history = pd.read_csv(work / "history.csv")
    if out_dir is None:
        shutil.rmtree(work, ignore_errors=True)
    return model, history, seconds


def progress_bars():
    """A tqdm bar over the epochs and one over each epoch's batches (``verbose=1``).

    In a notebook they are widgets that update in place; Keras' own bar writes text at every
    step, which a saved notebook keeps (0.9 MB in chapter 06's executed copy).
    """
    from tqdm.keras import TqdmCallback  # deferred: tqdm.keras loads TensorFlow

    return TqdmCallback(verbose=1, tqdm_class=tqdm)


def _split(labels: np.ndarray, cfg: TrainConfig, beats: pd.DataFrame | None = None) -> dict:
    from sklearn.model_selection import train_test_split

    if cfg.split == "interpatient":
        return interpatient_split(beats, labels, seed=cfg.seed, val_fraction=cfg.val_fraction)
    train_all, test = holdout_split(labels, cfg.test_fraction, cfg.seed)
    train, val = train_test_split(
        train_all, test_size=cfg.val_fraction, stratify=labels[train_all], random_state=cfg.seed
    )
    return {"train": np.sort(train), "val": np.sort(val), "test": test}


def load_or_train(
    profile: Profile | str | None = None,
    *,
    retrain: bool = False,
    strategy=None,
    verbose: int = 1,
    **overrides,
) -> TrainedModel:
    """The profile's trained model: read from ``data/models`` if there, else trained and saved.

    Parameters
    ----------
    profile : Profile or str, optional
        Default: ``$ECG_PROFILE``.
    retrain : bool
        Train even if a saved model exists (it is replaced).
    strategy : tf.distribute.Strategy, optional
        E.g. ``tf.distribute.MirroredStrategy()`` for several GPUs.
    verbose : int
        Progress: 1 = tqdm bars over epochs and batches (widgets in a notebook), 2 = a line per
        epoch (Keras), 0 = silent.
    **overrides
        Any :class:`TrainConfig` field (``epochs=2``, ``balance="oversample"``, ...). ``model``
        may also be your own network: a function that builds it (signature and inputs in
        :func:`builder_arguments`), or a Keras model (trained from fresh weights of its layers). It
        is keyed by its architecture: change the function, and the next call trains again.
    """
    keras = import_keras()

    prof = get_profile(profile)
    build = None
    if "model" in overrides and not isinstance(overrides["model"], str):
        overrides["model"], build = _builder(overrides["model"], keras)
    cfg = config_from_profile(prof, **overrides)
    ds = build_dataset(prof, size=cfg.size, rule=cfg.rule, scale=cfg.scale, progress=verbose > 0)
    if cfg.ignore_classes:
        unknown = set(cfg.ignore_classes) - set(scheme_classes(cfg.scheme))
        if unknown:
            raise ValueError(f"ignore_classes {sorted(unknown)} are not classes of {cfg.scheme}.")
    architecture = None
    if build is not None:  # a network of yours: keyed by what it is
        keras.utils.set_random_seed(cfg.seed)
        architecture = architecture_key(build_network(cfg, ds, build))
    spec = model_spec(prof, cfg, cache_key(ds.params), architecture)
    built = []

    def train_and_save(folder: Path) -> None:
        built.append(_train_and_save(spec, prof, cfg, ds, folder, strategy, verbose, build))

    folder, _ = store.get_or_build(spec, train_and_save, force=retrain)
    if built:
        return dataclasses.replace(built[0], folder=folder)
    return TrainedModel(
        keras.saving.load_model(folder / "model.keras"),
        cfg,
        json.loads((folder / "metadata.json").read_text()),
        pd.read_csv(folder / "history.csv"),
        ds,
        dict(np.load(folder / "split.npz")),
        folder,
    )


def _train_and_save(spec, prof, cfg, ds, folder: Path, strategy, verbose, build=None):
    keras = import_keras()

    labels = ds.labels(cfg.scheme)
    split = _split(labels, cfg, ds.beats)
    if cfg.ignore_classes:
        names = scheme_classes(cfg.scheme)
        ignored = [names.index(c) for c in cfg.ignore_classes]
        for part in ("train", "val"):
            split[part] = split[part][~np.isin(labels[split[part]], ignored)]
    model, history, seconds = train_model(
        cfg, ds, split["train"], split["val"], build=build, strategy=strategy, out_dir=folder,
        verbose=verbose,
    )  # fmt: skip
    probs = predict(model, ds, split["test"], cfg)
    metrics = classification_metrics(labels[split["test"]], probs.argmax(axis=1), cfg.scheme)
    if cfg.scheme == "aami5":
        metrics["ec57"] = ec57_metrics(labels[split["test"]], probs.argmax(axis=1))
    metadata = {
        "name": spec.label,
        "key": spec.key,
        "profile": prof.name,
        "scheme": cfg.scheme,
        "classes": scheme_classes(cfg.scheme),
        "image_size": cfg.size,
        "config": dataclasses.asdict(cfg),
        "dataset": ds.params,
        "data_fingerprint": ds.params["data_fingerprint"],
        "split": {k: len(v) for k, v in split.items()},
        "split_kind": {
            "beat": "beat-level hold-out",
            "interpatient": "inter-patient DS1 -> DS2",
        }[cfg.split],
        "train_seconds": round(seconds, 1),
        "epochs_run": (
            len(history) if "member" not in history else history.groupby("member").size().tolist()
        ),
        "parameters": int(model.count_params()),
        "metrics": metrics,
        "trained": datetime.now(UTC).isoformat(timespec="seconds"),
        "versions": {"keras": keras.__version__, "code": spec.code},
    }
    model.save(folder / "model.keras")
    (folder / "best.keras").unlink(missing_ok=True)
    np.savez(folder / "split.npz", **split)
    (folder / "metadata.json").write_text(json.dumps(metadata, indent=1))
    return TrainedModel(model, cfg, metadata, history, ds, split)
