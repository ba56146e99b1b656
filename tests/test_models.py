"""ecgutils.models: the paper's CNN as published, the compact one, and their costs."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from ecgutils import models  # noqa: E402


def test_paper_cnn_matches_the_paper():
    m = models.paper_cnn()
    assert m.count_params() == 76_671_944  # 76.7 M
    convs = [layer for layer in m.layers if isinstance(layer, keras.layers.Conv2D)]
    assert [c.filters for c in convs] == [64, 64, 128, 128, 256, 256]
    assert all(c.kernel_size == (3, 3) and c.strides == (1, 1) for c in convs)
    assert all(isinstance(c.kernel_initializer, keras.initializers.GlorotUniform) for c in convs)
    kinds = [type(layer).__name__ for layer in m.layers]
    assert kinds.count("ELU") == 7 and kinds.count("BatchNormalization") == 7
    assert kinds.count("MaxPooling2D") == 3 and kinds.count("Dropout") == 1
    dense = [layer for layer in m.layers if isinstance(layer, keras.layers.Dense)]
    assert [d.units for d in dense] == [2048, 8]
    assert m.output.shape[1:] == (8,)
    assert models.paper_cnn(channels=3).input.shape[1:] == (128, 128, 3)


def test_paper_cnn_takes_training_steps_on_cpu():
    m = models.paper_cnn()
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x = np.random.default_rng(0).integers(0, 256, (4, 128, 128, 1)).astype(np.float32)
    y = np.array([0, 1, 2, 3])
    history = m.fit(x, y, epochs=2, batch_size=2, verbose=0)
    assert len(history.history["loss"]) == 2 and np.isfinite(history.history["loss"]).all()


def test_compact_cnn_with_and_without_rr():
    with_rr, without = models.compact_cnn(), models.compact_cnn(rr=False)
    assert [i.name for i in with_rr.inputs] == ["image", "rr"]
    assert with_rr.inputs[1].shape[1:] == (models.N_RR_FEATURES,)
    assert len(without.inputs) == 1 and without.count_params() < with_rr.count_params() < 200_000
    x = np.full((2, 32, 32, 1), 255, np.float32)
    p = with_rr.predict({"image": x, "rr": np.ones((2, 7), np.float32)}, verbose=0)
    assert p.shape == (2, 8) and np.allclose(p.sum(axis=1), 1, atol=1e-5)
    with pytest.raises(ValueError, match="Unknown model"):
        models.build_model("vgg", 32, 8)


def test_flops_counted_by_hand():
    inp = keras.Input((4, 4, 1))
    x = keras.layers.Conv2D(8, 3, padding="same")(inp)  # 4*4 positions x 9 x 1 x 8 = 1152
    x = keras.layers.GlobalAveragePooling2D()(x)
    out = keras.layers.Dense(3)(x)  # 8 x 3 = 24
    assert models.count_flops(keras.Model(inp, out)) == 1152 + 24
    table = models.layer_table(keras.Model(inp, out))
    assert table["parameters"].sum() == 8 * 9 + 8 + 8 * 3 + 3


def test_time_per_image_is_measured():
    m = models.compact_cnn(size=16, rr=False)
    assert models.time_per_image(m, batch=4, repeats=1) > 0
    assert models.time_per_image(m, batch=4, train=False, repeats=1) > 0


def test_cost_table_side_by_side():
    a, b = models.compact_cnn(size=16, rr=False), models.compact_cnn(size=16)
    table = models.cost_table({"a": a, "b": b}, batch={"a": 4, "b": 4}, repeats=1)
    assert list(table.index) == ["a", "b"]
    assert table.loc["b", "parameters"] == b.count_params() > table.loc["a", "parameters"]
    assert table.loc["a", "multiply-adds per image"] == models.count_flops(a)
    assert (table["ms per image, training step"] > 0).all()
