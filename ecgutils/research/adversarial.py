"""The CNN recipe trained against a patient critic: domain-adversarial training (issue 32).

A network trained on 19 patients can learn *those patients* (their amplitude, their QRS, their
noise) as much as the classes. Domain-adversarial training (Ganin et al. 2016, "Domain-adversarial
training of neural networks", JMLR 17; Zhang J. et al. 2021 for ECG across patients) puts a second
classifier, the *critic*, on the trunk's features (:func:`ecgutils.research.heads.split_head`): it
learns to tell which training patient a beat came from, while a gradient reversal layer hands the
trunk the opposite of the critic's gradient. The trunk is thus pushed towards features that
classify the beat and do not say whose it is.

:func:`train_adversarial` has :func:`ecgutils.train.train_model`'s signature and returns the plain
network (the critic is dropped), so the folds, the adaptations and DS2's scoring take it as they
take the recipe (:func:`ecgutils.research.transfer.fold_networks`, ``trainer="adversarial"``). Its
settings (:data:`ADVERSARIAL`) were written down before any fold was scored.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from .. import store
from ..backend import import_keras, import_tensorflow
from ..classes import scheme_classes
from ..config import get_profile
from ..dataset import build_dataset, cache_key
from ..evaluate import interpatient_split
from ..train import (
    TrainConfig,
    TrainedModel,
    build_network,
    class_weights,
    config_from_profile,
    config_key,
    make_dataset,
)
from .heads import split_head
from .studies import INTERPATIENT

#: The critic's settings, fixed before any fold was scored: the reversed gradient's largest weight
#: (reached along Ganin et al.'s ramp 2 / (1 + exp(-10 p)) - 1 over the run, p from 0 to 1) and the
#: critic's hidden units.
ADVERSARIAL = {"weight": 0.3, "units": 64}


class _PatientCoded:
    """A beat data set whose labels carry the patient too: class + n_classes * patient, so the
    training pipeline (:func:`ecgutils.train.make_dataset`) brings both in one integer."""

    def __init__(self, ds, coded: np.ndarray):
        self._ds, self._coded = ds, coded

    def labels(self, scheme: str) -> np.ndarray:
        return self._coded

    def __getattr__(self, name):
        return getattr(self._ds, name)


def _reverse_gradient():
    tf = import_tensorflow()

    @tf.custom_gradient
    def reverse(x, weight):
        def grad(dy):
            return -weight * dy, tf.zeros_like(weight)

        return tf.identity(x), grad

    return reverse


def _adversarial_model(network, n_classes: int, n_patients: int, weights, settings: dict):
    """A Keras model that trains ``network`` (class-weighted cross-entropy) and a patient critic
    on its trunk's features through a reversed gradient; it predicts as ``network`` does."""
    keras = import_keras()
    tf = import_tensorflow()
    trunk, head = split_head(network)
    critic = keras.Sequential(
        [
            keras.Input(tuple(trunk.output.shape[1:])),
            keras.layers.Dense(settings["units"], activation="elu"),
            keras.layers.Dense(n_patients),
        ],
        name="patient_critic",
    )
    reverse = _reverse_gradient()
    ce = keras.losses.SparseCategoricalCrossentropy(reduction=None)
    ce_logits = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    class Adversarial(keras.Model):
        def __init__(self):
            super().__init__()
            self.network, self.critic = network, critic
            self.class_weight = tf.constant(weights, tf.float32)
            self.reversal = tf.Variable(0.0, trainable=False, name="reversal_weight")

        def call(self, x, training=False):
            return self.network(x, training=training)

        def train_step(self, data):
            x, y = data
            cls, patient = y % n_classes, y // n_classes
            variables = [*network.trainable_variables, *critic.trainable_variables]
            with tf.GradientTape() as tape:
                features = trunk(x, training=True)
                probs = head(features, training=True)
                w = tf.gather(self.class_weight, cls)
                loss = tf.reduce_mean(w * ce(cls, probs))  # as Keras weighs classes
                critic_loss = ce_logits(
                    patient, critic(reverse(features, tf.identity(self.reversal)), training=True)
                )
                total = loss + critic_loss
            self.optimizer.apply(tape.gradient(total, variables), variables)
            # names of their own: Keras reports its (unused) compiled loss under "loss"
            return {"class_loss": loss, "critic_loss": critic_loss}

        def test_step(self, data):
            x, y = data
            probs = self.network(x, training=False)
            return {"class_loss": tf.reduce_mean(ce(y % n_classes, probs))}

    return Adversarial()


def fit_adversarial(
    cfg: TrainConfig, ds, train_idx: np.ndarray, val_idx: np.ndarray, *,
    settings: dict | None = None, verbose: int = 0,
):  # fmt: skip
    """One network of ``cfg`` trained against a patient critic on the beats ``train_idx``,
    early-stopped on the class loss of ``val_idx`` (other patients). Returns (the network with
    the best validation loss's weights, the history as a frame, seconds of fitting)."""
    keras = import_keras()
    s = {**ADVERSARIAL, **(settings or {})}
    keras.utils.set_random_seed(cfg.seed)
    n_classes = len(scheme_classes(cfg.scheme))
    labels = ds.labels(cfg.scheme)
    records = ds.beats["record"].astype(str).to_numpy()
    patients = sorted(set(records[train_idx]))
    patient = np.zeros(len(labels), np.int64)
    patient[train_idx] = np.searchsorted(patients, records[train_idx])
    coded = _PatientCoded(ds, labels.astype(np.int64) + n_classes * patient)
    train_data = make_dataset(coded, train_idx, cfg, training=True)
    val_data = make_dataset(coded, val_idx, cfg, training=False)
    steps = int(train_data.cardinality().numpy())
    network = build_network(cfg, ds)
    weights = np.ones(n_classes, np.float32)
    if cfg.balance == "class_weight":
        w = class_weights(labels[train_idx], n_classes, power=cfg.balance_power)
        weights = np.array([w[k] for k in range(n_classes)], np.float32)
    model = _adversarial_model(network, n_classes, len(patients), weights, s)
    schedule = keras.optimizers.schedules.CosineDecay(cfg.learning_rate, cfg.epochs * steps)
    model.compile(optimizer=keras.optimizers.Adam(schedule))

    class Ramp(keras.callbacks.Callback):  # the reversed gradient's weight, 0 -> s["weight"]
        def on_train_batch_begin(self, batch, logs=None):
            p = (self.epoch * steps + batch) / max(cfg.epochs * steps, 1)
            model.reversal.assign(s["weight"] * (2 / (1 + np.exp(-10 * p)) - 1))

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

    stop = keras.callbacks.EarlyStopping(
        monitor="val_class_loss", mode="min", patience=cfg.patience, restore_best_weights=True
    )
    t0 = time.perf_counter()
    fit = model.fit(
        train_data,
        validation_data=val_data,
        epochs=cfg.epochs,
        shuffle=False,
        callbacks=[Ramp(), stop],
        verbose=verbose,
    )  # shuffle=False: tf.data shuffles every epoch itself
    return network, pd.DataFrame(fit.history), time.perf_counter() - t0


def train_adversarial(
    cfg: TrainConfig, ds, train_idx: np.ndarray, val_idx: np.ndarray, *,
    settings: dict | None = None, verbose: int = 0,
):  # fmt: skip
    """:func:`fit_adversarial` for every network of ``cfg.ensemble`` (seeds ``seed``, ``seed + 1``,
    ...), averaged as :func:`ecgutils.train.train_model` averages them. Returns (model, history
    with a ``member`` column, seconds)."""
    keras = import_keras()
    nets, histories, seconds = [], [], 0.0
    for k in range(cfg.ensemble):
        member_cfg = dataclasses.replace(cfg, seed=cfg.seed + k, ensemble=1)
        net, history, secs = fit_adversarial(
            member_cfg, ds, train_idx, val_idx, settings=settings, verbose=verbose
        )
        net.name = f"{net.name}_seed{member_cfg.seed}"
        nets.append(net)
        histories.append(history.assign(member=k))
        seconds += secs
    history = pd.concat(histories, ignore_index=True)
    if len(nets) == 1:
        return nets[0], history, seconds
    inputs = [keras.Input(tuple(x.shape[1:]), name=x.name.split(":")[0]) for x in nets[0].inputs]
    call = inputs if len(inputs) > 1 else inputs[0]
    mean = keras.layers.Average(name="ensemble_mean")([m(call) for m in nets])
    return keras.Model(inputs, mean, name=f"ensemble_of_{len(nets)}"), history, seconds


def load_or_train_adversarial(
    profile="standard", *, retrain: bool = False, verbose: int = 0, **overrides
) -> TrainedModel:
    """The CNN recipe (:data:`ecgutils.research.studies.INTERPATIENT` with ``overrides``) trained
    against the patient critic on DS1 (de Chazal's split, early stopping on the DS1 validation
    records as :func:`ecgutils.train.load_or_train` does), kept in the store. DS2 is not scored
    here: :func:`ecgutils.research.transfer.adapted_interpatient` scores it."""
    keras = import_keras()
    prof = get_profile(profile)
    cfg = config_from_profile(prof, **{**INTERPATIENT, **overrides})
    ds = build_dataset(prof, size=cfg.size, rule=cfg.rule, scale=cfg.scale, progress=verbose > 0)
    spec = store.Spec(
        kind="model", label=f"{prof.name}-interpatient-adversarial",
        params={"config": config_key(cfg), "settings": ADVERSARIAL},
        module=__name__, data=cache_key(ds.params),
    )  # fmt: skip

    def build(folder: Path) -> None:
        labels = ds.labels(cfg.scheme)
        split = interpatient_split(ds.beats, labels, seed=cfg.seed, val_fraction=cfg.val_fraction)
        ignored = [scheme_classes(cfg.scheme).index(c) for c in cfg.ignore_classes]
        for part in ("train", "val"):
            split[part] = split[part][~np.isin(labels[split[part]], ignored)]
        model, history, seconds = train_adversarial(
            cfg, ds, split["train"], split["val"], verbose=verbose
        )
        model.save(folder / "model.keras")
        np.savez(folder / "split.npz", **split)
        history.to_csv(folder / "history.csv", index=False)
        meta = {"key": spec.key, "profile": prof.name, "config": dataclasses.asdict(cfg),
                "settings": ADVERSARIAL, "train_seconds": round(seconds, 1),
                "epochs_run": history.groupby("member").size().tolist()}  # fmt: skip
        (folder / "metadata.json").write_text(json.dumps(meta, indent=1))

    folder, _ = store.get_or_build(spec, build, force=retrain)
    return TrainedModel(
        keras.saving.load_model(folder / "model.keras", compile=False), cfg,
        json.loads((folder / "metadata.json").read_text()), pd.read_csv(folder / "history.csv"),
        ds, dict(np.load(folder / "split.npz")), folder,
    )  # fmt: skip
