"""ecgutils.train: balancing, the tf.data pipeline, and load_or_train on the quick profile."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from ecgutils import store, train
from ecgutils.dataset import BeatDataset, cache_key
from ecgutils.research import studies
from ecgutils.train import TrainConfig


def _dataset(n_per_class=(30, 0, 0, 0, 10)):
    labels = np.concatenate([[k] * n for k, n in enumerate(n_per_class)] + [[-1] * 3])
    n = len(labels)
    rng = np.random.default_rng(0)
    beats = pd.DataFrame(
        {
            "rr_prev_s": rng.uniform(0.5, 1, n),
            "rr_next_s": rng.uniform(0.5, 1, n),
            "rr_local_s": np.full(n, 0.8),
            "rr_mean_s": np.full(n, 0.8),
            "seed7": labels,
            "paper8": labels,
            "aami5": labels,
        }
    )
    images = rng.integers(0, 256, (n, 32, 32), dtype=np.uint8)
    return BeatDataset(images, beats, {})


def test_config_checks():
    with pytest.raises(ValueError, match="balance must be"):
        TrainConfig(balance="smote")
    with pytest.raises(ValueError, match="images only"):
        TrainConfig(model="paper", rr=True)
    cfg = train.config_from_profile("quick", epochs=1)
    assert cfg.epochs == 1 and cfg.size == 32 and cfg.model == "compact"
    paper = train.config_from_profile("paper")
    assert (paper.model, paper.size, paper.augment, paper.rr) == ("paper", 128, "enlarge", False)


def test_class_weights_and_oversampling():
    labels = np.array([0] * 400 + [1] * 100 + [2] * 4)
    w = train.class_weights(labels, 4)
    assert w[0] == 1.0 and w[1] == pytest.approx(2.0) and w[2] == pytest.approx(10.0)
    assert w[3] == 1.0  # absent class
    assert train.class_weights(labels, 3, power=1.0, cap=50)[2] == 50.0
    idx = np.arange(len(labels))
    drawn = labels[train.oversample(idx, labels, seed=0)]
    share = np.bincount(drawn, minlength=3) / len(drawn)
    expect = np.sqrt([400, 100, 4]) / np.sqrt([400, 100, 4]).sum()
    np.testing.assert_allclose(share, expect, atol=0.05)


def test_epoch_pairs_augment_arrhythmia_only():
    labels = np.array([0, 0, 4, 4, 0])
    idx = np.arange(5)
    b, c = train.epoch_pairs(idx, labels, TrainConfig(augment="none"), 0)
    assert b.tolist() == [0, 1, 2, 3, 4] and not c.any()
    b, c = train.epoch_pairs(idx, labels, TrainConfig(augment="random"), 0)
    assert len(b) == 5 and not c[labels[b] == 0].any()
    b, c = train.epoch_pairs(idx, labels, TrainConfig(augment="enlarge"), 0)
    assert len(b) == 3 + 2 * 10 and not c[labels[b] == 0].any()
    assert sorted(c[b == 2].tolist()) == list(range(10))


def test_pipeline_shapes_inputs_and_crops():
    ds = _dataset()
    labelled = np.flatnonzero(ds.labels("paper8") >= 0)
    cfg = TrainConfig(batch_size=8, augment="random", seed=1)
    batches = list(train.make_dataset(ds, labelled, cfg, training=True).as_numpy_iterator())
    assert sum(len(y) for _, y in batches) == len(labelled)
    x, y = batches[0]
    assert set(x) == {"image", "rr"} and x["image"].shape == (8, 32, 32, 1)
    assert x["rr"].shape == (8, 7) and x["image"].dtype == np.float32
    changed = 0
    for xb, yb in batches:  # normal beats (class 0) are never cropped
        for img, lab in zip(xb["image"][..., 0], yb):
            same = any(
                (img == ds.images[i]).all() for i in np.flatnonzero(ds.labels("paper8") == lab)
            )
            if lab == 0:
                assert same
            changed += not same
    assert changed > 0  # some PVCs were cropped
    plain = train.make_dataset(ds, labelled, TrainConfig(rr=False, batch_size=64), training=False)
    x, y = next(plain.as_numpy_iterator())
    assert x.shape == (40, 32, 32, 1) and y.tolist() == ds.labels("paper8")[labelled].tolist()


def _no_training(*args, **kwargs):
    raise AssertionError("this model should have been read from the store")


@pytest.mark.integration
def _predict_matches_keras(tm) -> None:
    """train.predict's one traced function for every batch (600 beats: a full batch of 512 and
    one of 88) gives what Keras' own predict gives; an empty index gives an empty array."""
    some = tm.split["test"][:600]
    data = train.make_dataset(tm.dataset, some, tm.config, training=False).map(lambda x, y: x)
    np.testing.assert_allclose(
        train.predict(tm.model, tm.dataset, some, tm.config),
        tm.model.predict(data, verbose=0),
        atol=1e-6,
    )
    empty = train.predict(tm.model, tm.dataset, some[:0], tm.config)
    assert empty.shape == (0, len(tm.metadata["classes"]))


def test_load_or_train_quick_saves_and_reloads(quick_trained, monkeypatch):
    tm = quick_trained
    meta = tm.metadata
    assert meta["profile"] == "quick" and meta["scheme"] == "paper8" and meta["epochs_run"] == 1
    assert meta["split"]["test"] == len(tm.split["test"]) == 1348 and meta["image_size"] == 32
    assert tm.metrics["accuracy"] > 0.95 and len(tm.history) == 1  # majority class N: 0.72
    assert tm.config.precise_bn  # the quick profile's one epoch needs it
    assert store.is_complete(tm.folder) and (tm.folder / "model.keras").is_file()
    assert tm.folder == train.model_spec("quick", tm.config, cache_key(tm.dataset.params)).path
    monkeypatch.setattr(train, "_train_and_save", _no_training)
    again = train.load_or_train("quick", verbose=0)  # read back, not retrained
    assert again.metadata["trained"] == meta["trained"] and again.folder == tm.folder
    np.testing.assert_allclose(
        again.predict(again.split["test"][:50]), tm.predict(tm.split["test"][:50]), atol=1e-5
    )
    _predict_matches_keras(tm)


def test_every_field_enters_the_key_and_is_checked():
    cfg = TrainConfig()
    key = train.config_key(cfg)
    assert set(key) == {f.name for f in dataclasses.fields(TrainConfig)}
    assert key["ignore_classes"] == [] and key["precise_bn"] is False
    assert train.config_key(TrainConfig(precise_bn=True))["precise_bn"] is True
    new = TrainConfig(scale="patient", template=True, rhythm=True, split="interpatient")
    assert train.config_key(new)["split"] == "interpatient" and train.config_key(new)["template"]
    with pytest.raises(ValueError, match="scale='patient'"):
        TrainConfig(template=True)
    with pytest.raises(ValueError, match="rr=True"):
        TrainConfig(rr=False, rhythm=True)
    with pytest.raises(ValueError, match="rr=True"):
        TrainConfig(rr=False, relative_rr=True)
    with pytest.raises(ValueError, match="split must be"):
        TrainConfig(split="random")


def test_pipeline_with_template_channel_and_rhythm_features():
    ds = _dataset()
    n = len(ds)
    ds.beats["record"] = ["a"] * 20 + ["b"] * (n - 20)
    ds.beats["r"] = np.arange(n) * 300
    ds.params["records"] = ["a", "b"]
    ds.templates = np.stack([np.full((32, 32), 10, np.uint8), np.full((32, 32), 20, np.uint8)])
    ds.beats["rr_prev_s"] = ds.beats["rr_prev_s"].where(np.arange(n) % 20 != 0)  # record starts
    cfg = TrainConfig(
        scheme="aami5", scale="patient", template=True, rhythm=True, relative_rr=True, batch_size=8
    )
    assert train.model_features(ds, cfg).shape == (n, 11)
    data = train.make_dataset(ds, np.arange(16, 24), cfg, training=False)
    x, y = next(iter(data))
    assert x["image"].shape == (8, 32, 32, 2) and x["rr"].shape == (8, 11)
    np.testing.assert_array_equal(x["image"][..., 1].numpy()[:, 0, 0], [10] * 4 + [20] * 4)
    np.testing.assert_array_equal(x["image"][..., 0].numpy(), ds.images[16:24])


@pytest.mark.integration
def test_ensemble_is_one_saved_model_averaging_its_members(tiny, monkeypatch):
    import tensorflow as tf

    overrides = {**studies.INTERPATIENT, "ensemble": 2}
    strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
    tm = train.load_or_train(tiny, verbose=0, strategy=strategy, **overrides)
    assert tm.metadata["epochs_run"] == [1, 1] and set(tm.history["member"]) == {0, 1}
    members = [layer for layer in tm.model.layers if hasattr(layer, "layers")]
    assert len(members) == 2
    x = next(
        iter(train.make_dataset(tm.dataset, tm.split["test"][:16], tm.config, training=False))
    )[0]
    probs = [m([x["image"], x["rr"]]).numpy() for m in members]
    np.testing.assert_allclose(
        tm.model([x["image"], x["rr"]]).numpy(), np.mean(probs, 0), atol=1e-5
    )
    assert not np.allclose(probs[0], probs[1])  # two seeds, two networks
    monkeypatch.setattr(train, "_train_and_save", _no_training)
    again = train.load_or_train(tiny, verbose=0, **overrides)  # read back from disk
    np.testing.assert_allclose(
        again.predict(again.split["test"][:50]), tm.predict(tm.split["test"][:50]), atol=1e-5
    )
    _predict_matches_keras(tm)
    with pytest.raises(ValueError, match="ensemble"):
        TrainConfig(ensemble=0)


@pytest.mark.integration
def test_ignored_classes_stay_out_of_training_only(tiny):
    tm = train.load_or_train(tiny, verbose=0, scheme="aami5", ignore_classes=("Q",))
    labels = tm.dataset.labels("aami5")  # record 107 is paced: Q in aami5
    assert not (labels[np.concatenate([tm.split["train"], tm.split["val"]])] == 4).any()
    assert (labels[tm.split["test"]] == 4).sum() > 300


def test_recalibrate_batchnorm_sets_moving_statistics_to_the_batch():
    import keras

    inp = keras.Input((3,), name="image")
    bn = keras.layers.BatchNormalization(momentum=0.99)
    model = keras.Model(inp, keras.layers.Dense(2)(bn(inp)))
    x = np.random.default_rng(0).normal(5.0, 2.0, size=(300, 3)).astype(np.float32)
    x[256:] += 1.0  # the last, smaller chunk (128, 128, 44) differs: weights matter
    np.testing.assert_allclose(keras.ops.convert_to_numpy(bn.moving_mean), 0.0)
    train.recalibrate_batchnorm(model, {"image": x})
    np.testing.assert_allclose(keras.ops.convert_to_numpy(bn.moving_mean), x.mean(0), rtol=1e-5)
    # the variance: the chunks' own, averaged by size
    within = sum(len(c) * c.var(0) for c in np.split(x, [128, 256])) / len(x)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(bn.moving_variance), within, rtol=1e-3)
    assert bn.momentum == 0.99  # restored
    train.recalibrate_batchnorm(model, {"image": x}, chunk=len(x))  # one chunk: the whole sample
    np.testing.assert_allclose(keras.ops.convert_to_numpy(bn.moving_variance), x.var(0), rtol=1e-3)
    import warnings

    from ecgutils import models

    for net in (models.compact_cnn(16, rr=False), models.compact_cnn(16), models.paper_cnn(48)):
        side = net.inputs[0].shape[1]
        x = {
            "image": np.full((4, side, side, 1), 200, np.float32),
            "rr": np.ones((4, 7), np.float32),
        }
        with warnings.catch_warnings():
            warnings.simplefilter(
                "error"
            )  # Keras warns when the input structure is not the model's
            train.recalibrate_batchnorm(net, x)


def test_progress_bars_are_tqdm_not_keras_step_text(capfd):
    """verbose=1 shows tqdm bars (stderr; widgets in a notebook), not Keras' per-step text,
    which a saved notebook keeps in full."""
    ds = _dataset()
    labelled = np.flatnonzero(ds.labels("paper8") >= 0)
    cfg = TrainConfig(epochs=2, batch_size=8, patience=5)
    _, history, _ = train.train_model(cfg, ds, labelled[::2], labelled[1::2], verbose=1)
    out = capfd.readouterr()
    assert len(history) == 2 and "epoch" in out.err and "2/2" in out.err
    assert "━" not in out.out + out.err  # Keras' bar


def _small_cnn(width: int):
    """A network of one's own, built from the chapter's blocks (as chapter 06's exercise)."""
    from ecgutils import models

    keras = models.keras

    def small_cnn(size, n_classes, *, rr, channels, n_features):
        inp, x = models.image_input(size, channels)
        x = models.conv_block(x, width, padding="same", momentum=0.9)
        x = keras.layers.GlobalAveragePooling2D()(x)
        inputs = [inp]
        if rr:
            rr_in = keras.Input((n_features,), name="rr")
            x = keras.layers.Concatenate()([x, keras.layers.BatchNormalization()(rr_in)])
            inputs.append(rr_in)
        out = keras.layers.Dense(n_classes, activation="softmax")(x)
        return keras.Model(inputs, out, name="small_cnn")

    return small_cnn


def test_a_network_of_ones_own_trains_and_is_keyed_by_its_architecture(tiny):
    """load_or_train takes a builder function or a Keras model; an edited builder trains again
    (never an old cached model), the same one is read back."""
    first = train.load_or_train(tiny, model=_small_cnn(4), verbose=0)
    assert first.config.model == "small_cnn" and first.model.name == "small_cnn"
    assert 0 <= first.metrics["accuracy"] <= 1 and len(first.history) == 1
    again = train.load_or_train(tiny, model=_small_cnn(4), verbose=0)
    assert again.folder == first.folder  # same architecture: read back, not trained
    wider = train.load_or_train(tiny, model=_small_cnn(6), verbose=0)
    assert wider.folder != first.folder and wider.model.count_params() > first.model.count_params()
    args = train.builder_arguments(first.config, first.dataset)
    instance = _small_cnn(4)(tiny.image_size, 8, **args)
    assert train.load_or_train(tiny, model=instance, verbose=0).folder == first.folder


def test_a_network_of_ones_own_is_checked_before_training(tiny):
    from ecgutils import models

    keras = models.keras

    def wrong_inputs(size, n_classes, **_):
        inp = keras.Input((size, size, 1), name="img")
        out = keras.layers.Dense(n_classes, activation="softmax")(keras.layers.Flatten()(inp))
        return keras.Model(inp, out)

    with pytest.raises(ValueError, match=r"wrong_inputs has inputs \{'img'.*Name the inputs"):
        train.load_or_train(tiny, model=wrong_inputs, verbose=0)
    with pytest.raises(ValueError, match="'mine' is not built in .*model=mine"):
        train.load_or_train(tiny, model="mine", verbose=0)
    with pytest.raises(ValueError, match="a function that builds a Keras model"):
        train.load_or_train(tiny, model=3, verbose=0)
    assert (
        train.architecture_key(models.compact_cnn(16))
        == train.architecture_key(models.compact_cnn(16))
        != train.architecture_key(models.compact_cnn(16, width=8))
    )
