"""The CNNs: the paper's network, and a compact one for CPUs.

Both follow the same recipe (3x3 convolutions in pairs, each followed by ELU and batch
normalisation, 2x2 max-pooling, Xavier/Glorot initialisation, dropout before the softmax):

* :func:`paper_cnn`: Jun et al. 2018 exactly: 64-64, pool, 128-128, pool, 256-256, pool
  (valid convolutions), flatten, dense 2048, ELU, batch norm, dropout 0.5, softmax, on 128x128
  grayscale images: 76.7 M parameters, a GPU model.
* :func:`compact_cnn`: the same family for a laptop: small images (32x32 by default), 16-32-64
  filters, global average pooling instead of the huge dense layer, and optionally a second
  input with RR-interval features (:func:`ecgutils.dataset.rr_features`), which give back the
  beat's timing that the image stretched away.

Images enter as uint8 (255 = background) and are rescaled inside the model, so the same arrays
feed training, evaluation and deployment.

Source: chapter 05 (``notebooks/05_model.ipynb``) writes :func:`image_input`,
:func:`conv_block`, :func:`paper_cnn`, :func:`compact_cnn` (cells marked ``#| export``; a test
fails when chapter and package differ).
"""

from __future__ import annotations

import gc
import time

import numpy as np
import pandas as pd

from .backend import import_keras, import_tensorflow

#: Keras, imported quietly (TensorFlow's start-up log silenced) when this module is imported.
keras = import_keras()

#: Number of RR features the compact CNN's second input takes (see dataset.rr_features).
N_RR_FEATURES = 7


def image_input(size: int, channels: int = 1):
    """The image input, ``(size, size, channels)`` uint8 (255 = white background), and the
    same images as floats in [0, 1] with 1 = ink: (input, rescaled tensor)."""
    inp = keras.Input((size, size, channels), name="image")
    return inp, keras.layers.Rescaling(-1.0 / 255.0, offset=1.0)(inp)


def conv_block(x, filters: int, padding: str = "valid", momentum: float = 0.99):
    """Two 3x3 convolutions, each followed by ELU and batch normalisation, then 2x2
    max-pooling (halves the side): the unit both networks repeat."""
    for _ in range(2):
        x = keras.layers.Conv2D(filters, 3, padding=padding, kernel_initializer="glorot_uniform")(x)
        x = keras.layers.ELU()(x)
        x = keras.layers.BatchNormalization(momentum=momentum)(x)
    return keras.layers.MaxPooling2D(pool_size=2)(x)


def paper_cnn(size: int = 128, n_classes: int = 8, *, channels: int = 1):
    """Jun et al. 2018's CNN as published: three blocks of 64, 128 and 256 filters (valid
    convolutions: 128 -> 124 -> 62 -> 58 -> 29 -> 25 -> 12 pixels), flatten, a dense layer of
    2048 units with ELU and batch norm, dropout 0.5, softmax over ``n_classes``.
    ``channels=3`` feeds three identical channels, as the original's RGB loading did."""
    inp, x = image_input(size, channels)
    for filters in (64, 128, 256):
        x = conv_block(x, filters, padding="valid")
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(2048, kernel_initializer="glorot_uniform")(x)
    x = keras.layers.ELU()(x)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.Dropout(0.5)(x)
    classify = keras.layers.Dense(
        n_classes, activation="softmax", kernel_initializer="glorot_uniform"
    )
    return keras.Model(inp, classify(x), name="paper_cnn")


def compact_cnn(
    size: int = 32,
    n_classes: int = 8,
    *,
    width: int = 16,
    rr: bool = True,
    dropout: float = 0.3,
    channels: int = 1,
    n_features: int = N_RR_FEATURES,
):
    """The same family for a laptop: blocks of ``width``, 2x and 4x filters (same padding),
    global average pooling instead of the huge dense layer, and (``rr=True``) a second input
    ``rr`` of ``n_features`` RR-interval features. ``channels=2``: the beat beside its
    patient's template beat (chapter 09)."""
    inp, x = image_input(size, channels)
    # batch-norm statistics that follow training within a few hundred steps (Keras' default
    # momentum 0.99 needs thousands; short CPU runs would be judged with stale statistics)
    for k in range(3):
        x = conv_block(x, width * 2**k, padding="same", momentum=0.9)
    x = keras.layers.GlobalAveragePooling2D()(x)
    inputs = [inp]
    if rr:
        rr_in = keras.Input((n_features,), name="rr")
        r = keras.layers.BatchNormalization(momentum=0.9)(rr_in)
        r = keras.layers.Dense(32, activation="elu", kernel_initializer="glorot_uniform")(r)
        x = keras.layers.Concatenate()([x, r])
        inputs.append(rr_in)
    x = keras.layers.Dense(128, kernel_initializer="glorot_uniform")(x)
    x = keras.layers.ELU()(x)
    x = keras.layers.BatchNormalization(momentum=0.9)(x)
    x = keras.layers.Dropout(dropout)(x)
    classify = keras.layers.Dense(
        n_classes, activation="softmax", kernel_initializer="glorot_uniform"
    )
    return keras.Model(inputs, classify(x), name="compact_cnn_rr" if rr else "compact_cnn")


def compact_cnn_1d(
    n_samples: int,
    n_classes: int = 8,
    *,
    width: int = 16,
    kernel: int = 7,
    n_features: int = N_RR_FEATURES,
    dropout: float = 0.3,
):
    """The compact CNN's 1-D twin, on the beat's waveform itself instead of its picture.

    Three blocks of two ``Conv1D`` (``width``, 2x, 4x filters; ELU, batch norm) and a max-pool,
    global average pooling, the same RR branch and head as :func:`compact_cnn`.

    Returns
    -------
    keras.Model
        Inputs ``wave`` ``(n_samples, 1)`` (mV) and ``rr`` ``(n_features,)``; class probabilities.
    """
    inp = keras.Input((n_samples, 1), name="wave")
    x = inp
    for k in range(3):
        for _ in range(2):
            x = keras.layers.Conv1D(
                width * 2**k, kernel, padding="same", kernel_initializer="glorot_uniform"
            )(x)
            x = keras.layers.ELU()(x)
            x = keras.layers.BatchNormalization(momentum=0.9)(x)
        x = keras.layers.MaxPooling1D(2)(x)
    x = keras.layers.GlobalAveragePooling1D()(x)
    rr_in = keras.Input((n_features,), name="rr")
    r = keras.layers.BatchNormalization(momentum=0.9)(rr_in)
    r = keras.layers.Dense(32, activation="elu", kernel_initializer="glorot_uniform")(r)
    x = keras.layers.Concatenate()([x, r])
    x = keras.layers.Dense(128, kernel_initializer="glorot_uniform")(x)
    x = keras.layers.ELU()(x)
    x = keras.layers.BatchNormalization(momentum=0.9)(x)
    x = keras.layers.Dropout(dropout)(x)
    out = keras.layers.Dense(n_classes, activation="softmax", kernel_initializer="glorot_uniform")(
        x
    )
    return keras.Model([inp, rr_in], out, name="compact_cnn_1d")


def build_model(
    kind: str,
    size: int,
    n_classes: int,
    *,
    rr: bool = True,
    channels: int = 1,
    n_features: int = N_RR_FEATURES,
):
    """``paper`` -> :func:`paper_cnn`, ``compact`` -> :func:`compact_cnn`."""
    if kind == "paper":
        return paper_cnn(size, n_classes, channels=channels)
    if kind == "compact":
        return compact_cnn(size, n_classes, rr=rr, channels=channels, n_features=n_features)
    raise ValueError(f"Unknown model {kind!r}; choose 'paper' or 'compact'.")


def count_flops(model) -> int:
    """Multiply-adds of one forward pass of one image, over Conv2D and Dense layers."""
    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            _, h, w, c_out = layer.output.shape
            kh, kw = layer.kernel_size
            total += h * w * kh * kw * layer.input.shape[-1] * c_out
        elif isinstance(layer, keras.layers.Dense):
            total += layer.input.shape[-1] * layer.units
    return int(total)


def layer_table(model) -> pd.DataFrame:
    """One row per layer: name, type, output shape, parameters."""
    return pd.DataFrame(
        [
            (layer.name, type(layer).__name__, tuple(layer.output.shape[1:]), layer.count_params())
            for layer in model.layers
        ],
        columns=["layer", "type", "output shape", "parameters"],
    )


def _dummy_inputs(model, n: int):
    rng = np.random.default_rng(0)
    out = []
    for inp in model.inputs:
        shape = (n, *inp.shape[1:])
        out.append(
            rng.integers(0, 256, size=shape).astype(np.float32)
            if len(shape) == 4
            else rng.normal(size=shape).astype(np.float32)
        )
    return out if len(out) > 1 else out[0]


def time_per_image(model, *, batch: int = 32, train: bool = True, repeats: int = 3) -> float:
    """Milliseconds per image of one training step (or one prediction) on this machine."""
    tf = import_tensorflow()

    x = _dummy_inputs(model, batch)
    y = np.zeros(batch, dtype=np.int64)
    if train:
        opt = keras.optimizers.Adam()
        loss_fn = keras.losses.SparseCategoricalCrossentropy()

        @tf.function
        def step(x, y):
            with tf.GradientTape() as tape:
                loss = loss_fn(y, model(x, training=True))
            opt.apply_gradients(
                zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables)
            )

        run = lambda: step(x, y)  # noqa: E731
    else:
        predict = tf.function(lambda x: model(x, training=False))
        run = lambda: predict(x)  # noqa: E731
    run()  # trace and warm up
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - t0)
    # the optimizer's moments are twice the model's size (0.6 GB for the paper's CNN): free them
    # and the traced step now, before another model is timed
    del run
    if train:
        del step, opt
    gc.collect()
    return 1000 * best / batch


def machine_speed(*, repeats: int = 5) -> float:
    """This machine's speed at the course's TensorFlow work, the figure every reported time
    goes with: milliseconds per 48x48 image of one training step of the compact CNN with its
    RR input (8 classes, batch 128), best of ``repeats`` (:func:`time_per_image`).

    Machines of the same size differ by a factor of two to four; scale a time by this figure
    to compare it with one measured elsewhere.
    """
    return time_per_image(compact_cnn(48, 8), batch=128, repeats=repeats)


def cost_table(named_models: dict, *, batch: dict | None = None, repeats: int = 2) -> pd.DataFrame:
    """Parameters, multiply-adds and measured ms per image of several models, side by side.

    Parameters
    ----------
    named_models : dict name -> keras.Model
    batch : dict name -> int, optional
        Batch size used for timing each model (default 32).
    """
    rows = []
    for name, m in named_models.items():
        b = (batch or {}).get(name, 32)
        rows.append(
            {
                "model": name,
                "parameters": m.count_params(),
                "multiply-adds per image": count_flops(m),
                "ms per image, training step": time_per_image(m, batch=b, repeats=repeats),
                "ms per image, prediction": time_per_image(
                    m, batch=b, train=False, repeats=repeats
                ),
            }
        )
    return pd.DataFrame(rows).set_index("model")
