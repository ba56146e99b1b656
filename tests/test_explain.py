"""ecgutils.explain: Grad-CAM and occlusion find the part of the image a model uses."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ecgutils import explain, models

SIDE = 16


def _left_half_model():
    """A 2-class model that reads the left half of the image only: ink there means class 0.

    The mask sits before the convolution, so the right half never reaches the feature maps.
    """
    import keras

    mask = np.zeros((1, SIDE, SIDE, 1), dtype="float32")
    mask[:, :, : SIDE // 2] = 1.0
    inp = keras.Input((SIDE, SIDE, 1), name="image")
    x = keras.layers.Rescaling(-1.0 / 255.0, offset=1.0)(inp)
    x = keras.layers.Lambda(lambda t: t * mask)(x)
    conv = keras.layers.Conv2D(1, 1, use_bias=False, name="conv", kernel_initializer="ones")
    x = keras.layers.GlobalAveragePooling2D()(conv(x))
    head = keras.layers.Dense(2, activation="softmax", name="head")
    out = head(x)
    model = keras.Model(inp, out)
    head.set_weights([np.array([[200.0, -200.0]], dtype="float32"), np.array([-1.0, 1.0], "f4")])
    return model


def _images():
    """Two images: ink in both halves (a diagonal), and ink in the right half only."""
    both = np.full((SIDE, SIDE), 255, np.uint8)
    both[np.arange(SIDE), np.arange(SIDE)] = 0
    right = np.full((SIDE, SIDE), 255, np.uint8)
    right[4:12, 12] = 0
    return np.stack([both, right])


def test_grad_cam_lights_up_only_what_the_model_reads():
    model = _left_half_model()
    images = _images()
    heat, cls = explain.grad_cam(model, images, class_index=0)
    assert heat.shape == (2, SIDE, SIDE) and heat.dtype == np.float32
    assert list(cls) == [0, 0]
    assert heat[0].max() == pytest.approx(1.0)
    # Heat follows the ink of the left half; the right half (bilinear spill aside) stays cold.
    assert heat[0, :, : SIDE // 2 - 1].max() > 0.9
    assert heat[0, :, SIDE // 2 + 1 :].max() == pytest.approx(0.0, abs=1e-6)
    # An image whose ink is all on the right gives the model nothing: no heat at all.
    assert heat[1].max() == pytest.approx(0.0, abs=1e-6)


def test_grad_cam_defaults_to_the_predicted_class_and_the_last_conv():
    model = _left_half_model()
    assert explain.conv_layers(model) == ["conv"]
    probs = model.predict(_images()[..., None].astype("float32"), verbose=0)
    _, cls = explain.grad_cam(model, _images())
    assert list(cls) == list(probs.argmax(axis=1)) == [0, 1]


def test_occlusion_changes_nothing_where_the_model_does_not_look():
    model = _left_half_model()
    drop, cls = explain.occlusion(model, _images()[:1], patch=4, stride=2)
    assert drop.shape == (1, SIDE, SIDE) and list(cls) == [0]
    assert np.abs(drop[0, :, SIDE // 2 + 2 :]).max() < 1e-6  # patches wholly on the right
    assert drop[0, :, : SIDE // 2 - 2].max() > 1e-4  # erasing left ink lowers class 0


def _course_cnn_inputs(n: int, seed: int) -> dict:
    """Random inputs of the course's compact CNN at 32x32: images and RR features."""
    rng = np.random.default_rng(seed)
    return {
        "image": rng.integers(0, 256, (n, 32, 32, 1)).astype(np.float32),
        "rr": rng.normal(size=(n, models.N_RR_FEATURES)).astype(np.float32),
    }


def test_grad_cam_on_the_course_cnn_with_rr_input():
    model = models.compact_cnn(size=32, n_classes=8, rr=True)
    inputs = _course_cnn_inputs(3, seed=0)
    names = explain.conv_layers(model)
    assert len(names) == 6
    heat, cls = explain.grad_cam(model, inputs, layer=names[2])
    assert heat.shape == (3, 32, 32) and 0 <= heat.min() and heat.max() <= 1
    drop, _ = explain.occlusion(model, inputs, class_index=cls)
    assert drop.shape == (3, 32, 32)


def test_grad_cam_layers_stacks_each_layer_for_one_class():
    model = models.compact_cnn(size=32, n_classes=8, rr=True)
    inputs = _course_cnn_inputs(2, seed=1)
    names = explain.conv_layers(model)
    heat, cls = explain.grad_cam_layers(model, inputs)
    assert heat.shape == (len(names), 2, 32, 32)
    # the class is chosen once (the prediction) and explained at every layer
    np.testing.assert_array_equal(cls, explain.grad_cam(model, inputs)[1])
    for k in (0, len(names) - 1):
        one, _ = explain.grad_cam(model, inputs, layer=names[k], class_index=cls)
        np.testing.assert_allclose(heat[k], one, atol=1e-6)
    some, _ = explain.grad_cam_layers(model, inputs, layers=names[1:3], class_index=5)
    assert some.shape == (2, 2, 32, 32)
    with pytest.raises(ValueError, match="No layers"):
        explain.grad_cam_layers(model, inputs, layers=[])


def test_grad_cam_names_a_model_without_convolutions():
    import keras

    inp = keras.Input((4,))
    with pytest.raises(ValueError, match="no Conv2D layer"):
        explain.conv_layers(keras.Model(inp, keras.layers.Dense(2)(inp)))


def test_swap_rr_needs_an_rr_input():
    from types import SimpleNamespace

    no_rr = SimpleNamespace(config=SimpleNamespace(rr=False))
    with pytest.raises(ValueError, match="no RR input"):
        explain.swap_rr(no_rr, 0, donor=1)


def test_column_heat_follows_the_trace():
    image = np.full((1, 4, 3), 255, np.uint8)
    image[0, 1, 0] = 0  # ink at row 1 in column 0
    image[0, 3, 1] = 0  # ink at row 3 in column 1; column 2 blank
    heat = np.zeros((1, 4, 3), np.float32)
    heat[0, 1, 0], heat[0, 0, 1], heat[0, :, 2] = 0.8, 1.0, 0.4
    out = explain.column_heat(heat, image)
    np.testing.assert_allclose(out, [[0.8, 0.0, 0.4]])
    with pytest.raises(ValueError, match="same shape"):
        explain.column_heat(heat[:, :2], image)


def test_column_times_and_wave_shares():
    beats = pd.DataFrame({"start": [0], "end": [360], "r": [180]})  # one second, R in the middle
    t = explain.column_times(beats, 4, fs=360.0)
    np.testing.assert_allclose(t, [[-0.375, -0.125, 0.125, 0.375]])
    shares = explain.wave_shares(t, np.array([[1.0, 1.0, 2.0, 0.0]]))
    assert list(shares.columns) == list(explain.WAVE_WINDOWS)
    assert shares.loc[0, "before P"] == pytest.approx(0.25)
    assert shares.loc[0, "P"] == pytest.approx(0.25)
    assert shares.loc[0, "ST-T"] == pytest.approx(0.5)
    assert shares.loc[0, "QRS"] == 0
    assert np.isnan(explain.wave_shares(t, np.zeros((1, 4))).iloc[0]).all()


@pytest.mark.integration
def test_explain_a_trained_course_model(quick_trained):
    import matplotlib.pyplot as plt

    from ecgutils.interface import model_plots, widgets

    tm = quick_trained
    test = tm.split["test"]
    labels = tm.dataset.labels(tm.config.scheme)
    pick = np.r_[test[labels[test] == 0][:3], test[labels[test] == 4][:3]]  # N and V beats
    table = explain.explain_beats(tm, pick)
    assert len(table) == 6 and set(table["true"]) == {"N", "V"}
    shares = table[list(explain.WAVE_WINDOWS)].to_numpy()
    np.testing.assert_allclose(np.nansum(shares, axis=1), 1.0, atol=1e-5)
    # the peak lies inside each beat's own window
    beats = tm.dataset.beats.iloc[pick]
    assert (table["peak_s"].to_numpy() >= (beats.start - beats.r).to_numpy() / 360 - 1e-9).all()
    assert (table["peak_s"].to_numpy() <= (beats.end - beats.r).to_numpy() / 360 + 1e-9).all()
    fig = model_plots.plot_explanation(tm, int(pick[-1]))
    assert len(fig.axes) >= 3
    plt.close(fig)
    ui = widgets.cam_explorer({"compact": tm})
    model_w, record_w = ui.children[0].children
    beat_w, layer_w = ui.children[1].children
    assert record_w.value in tm.dataset.beats["record"].astype(str).to_list()
    assert layer_w.value == explain.conv_layers(tm.model)[-1]
    layer_w.value = layer_w.options[0]  # redraws without error
    plt.close("all")

    # beats of named classes only; a name outside the scheme is refused
    only_v = explain.examples_per_class(tm, per_class=4, classes=["V"])
    assert 0 < len(only_v) <= 4 and set(labels[only_v]) == {4}
    assert set(labels[explain.examples_per_class(tm, per_class=2, classes=["N", "V"])]) == {0, 4}
    with pytest.raises(ValueError, match="not in the model's scheme"):
        explain.examples_per_class(tm, classes=["X"])

    # swapping timing: a beat given its own RR features twice reads the same; another's may not
    v, n = int(only_v[0]), int(pick[0])
    same = explain.swap_rr(tm, v, donor=v)
    assert list(same.index) == ["own RR", "donor's RR"]
    assert list(same.columns) == ["predicted", "P(V)", "heat centre (s from R)"]
    pd.testing.assert_series_equal(same.iloc[0], same.iloc[1], check_names=False, atol=1e-5)
    swapped = explain.swap_rr(tm, v, donor=n, class_name="N")
    assert "P(N)" in swapped.columns and swapped["P(N)"].between(0, 1).all()
    beats = tm.dataset.beats.iloc[v]
    centre = swapped["heat centre (s from R)"].dropna()
    assert centre.between((beats.start - beats.r) / 360, (beats.end - beats.r) / 360).all()
    with pytest.raises(ValueError, match="not one of the model's classes"):
        explain.swap_rr(tm, v, donor=n, class_name="X")


def test_examples_per_class_picks_test_beats_of_every_class():
    from types import SimpleNamespace

    from ecgutils.train import TrainConfig

    labels = np.array([0, 0, 1, 1, 2, 0, 1, 2])
    ds = SimpleNamespace(labels=lambda scheme: labels)
    tm = SimpleNamespace(
        dataset=ds,
        config=TrainConfig(),
        split={"test": np.array([0, 1, 2, 3, 5])},  # no class-2 beat among the test beats
        predict=lambda index: np.eye(3)[np.where(index == 2, 0, labels[index])],
    )
    pick = explain.examples_per_class(tm, per_class=2)
    assert list(labels[pick]) == [0, 0, 1, 1]  # grouped by class, in class order
    assert len(pick) == 4 and set(pick) <= {0, 1, 2, 3, 5}
    wrong = explain.examples_per_class(tm, per_class=5, correct=False)
    assert list(wrong) == [2]  # beat 2 (class 1) is predicted as class 0
    right = explain.examples_per_class(tm, per_class=5, correct=True)
    assert sorted(right) == [0, 1, 3, 5]


def test_trace_agreement_is_a_rank_correlation_along_the_trace():
    rng = np.random.default_rng(1)
    images = np.zeros((2, 8, 8), np.uint8)  # ink everywhere: column heat = column mean
    a = rng.random((2, 8, 8)).astype(np.float32)
    b = a.copy()
    b[1] = a[1][:, ::-1]  # the second beat's heat mirrored left-right
    r = explain.trace_agreement(a, 2 * b + 1, images)  # scaling keeps the ranks
    assert r[0] == pytest.approx(1.0)
    cols = a[1].mean(axis=0)
    expected = pd.Series(cols).corr(pd.Series(cols[::-1]), method="spearman")
    assert r[1] == pytest.approx(expected)
    assert np.isnan(explain.trace_agreement(a, np.ones_like(a), images)).all()


@pytest.mark.integration
def test_the_paper_cnn_stand_in_is_the_papers_network_trained_small(mitdb_ready, monkeypatch):
    """Outside the paper profile chapter 11 explains a stand-in: the paper's architecture exactly
    (PAPER_STANDIN's image size), trained briefly on the quick profile's records, then read
    back from the store. (Trained here, in the parallel unit tests, the notebook run finds it.)"""
    from ecgutils import train
    from ecgutils.config import get_profile

    tm = explain.paper_cnn_model("standard", verbose=0)
    size = explain.PAPER_STANDIN["size"]
    assert tm.config.model == "paper" and not tm.config.rr and tm.config.size == size
    published = models.paper_cnn(size, len(tm.metadata["classes"]))
    assert tm.model.count_params() == published.count_params()
    standin_records = get_profile(explain.PAPER_STANDIN["profile"]).records
    assert set(tm.dataset.beats.record.astype(str)) == set(standin_records)
    monkeypatch.setattr(train, "fit_network", lambda *a, **k: pytest.fail("retrained"))
    again = explain.paper_cnn_model("quick", verbose=0)
    assert again.folder == tm.folder
