"""ecgutils.render: the fast renderer keeps the waveform; the reference one matches the original."""

from __future__ import annotations

import numpy as np
import pytest

from ecgutils import data, render
from ecgutils.segment import segment_record


def resampled(x: np.ndarray, size: int) -> np.ndarray:
    """The beat linearly resampled at the centres of ``size`` columns."""
    pos = (np.arange(size) + 0.5) / size * (len(x) - 1)
    return np.interp(pos, np.arange(len(x)), x)


def _one(x: np.ndarray, **options) -> np.ndarray:
    """One beat (the whole of ``x``) as an image."""
    return render.render_beats(np.asarray(x, dtype=float), [0], [len(x)], **options)[0]


def test_shapes_dtype_and_background():
    x = np.sin(np.linspace(0, 2 * np.pi, 300))
    img = _one(x)
    assert img.shape == (128, 128) and img.dtype == np.uint8
    assert img.max() == 255 and img.min() < 60  # white background, dark line
    assert (img < 255).any(axis=0).all()  # every column has ink
    batch = render.render_beats(
        np.tile(x, 3), np.array([0, 300, 600]), np.array([300, 600, 900]), size=32
    )
    assert batch.shape == (3, 32, 32)
    np.testing.assert_array_equal(batch[0], batch[2])


def test_flat_beat_is_a_line_in_the_middle():
    img = _one(np.zeros(100), size=64)
    rows = np.flatnonzero((img < 255).any(axis=1))
    assert rows.tolist() == [31, 32]  # centred at 31.5: half of each row is covered
    assert (img[31] == 128).all() and (img[32] == 128).all()


def test_line_width_and_antialiasing():
    x = np.sin(np.linspace(0, 2 * np.pi, 300))
    thin, thick = _one(x, line_width=0.5), _one(x, line_width=3.0)
    ink = lambda im: (255 - im.astype(float)).sum()  # noqa: E731
    # each column's span grows by the extra width: 2.5 px x 128 columns of full ink
    assert ink(thick) - ink(thin) == pytest.approx(2.5 * 128 * 255, rel=0.05)
    assert ((thin > 0) & (thin < 255)).any()  # partial coverage: anti-aliased


def test_minmax_loses_amplitude_fixed_keeps_it():
    x = np.sin(np.linspace(0, 2 * np.pi, 300)) * 0.5
    a, b = _one(x), _one(2 * x)
    np.testing.assert_array_equal(a, b)
    fa = _one(x, scale="fixed", mv_range=(-2, 2))
    fb = _one(2 * x, scale="fixed", mv_range=(-2, 2))
    height = lambda im: np.ptp(np.flatnonzero((im < 128).any(axis=1)))  # noqa: E731
    assert height(fb) > 1.8 * height(fa)


def test_resample_beat_averages_each_column():
    x = np.repeat([0.0, 1.0], 500)  # a step in the middle
    y = render.resample_beat(x, 4)
    assert y.shape == (4,) and y[0] == pytest.approx(0) and y[-1] == pytest.approx(1)
    assert render.resample_beat(np.arange(9.0), 2).tolist() == pytest.approx([2.0, 6.0])


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="Unknown scale"):
        _one(np.zeros(10), scale="log")
    with pytest.raises(ValueError, match="start \\+ 2 <= end"):
        render.render_beats(np.zeros(1), np.array([0]), np.array([1]))
    with pytest.raises(ValueError, match="start \\+ 2 <= end"):
        render.render_beats(np.zeros(10), np.array([5]), np.array([20]))


@pytest.mark.integration
@pytest.mark.parametrize("name", ["100", "107", "207"])
def test_trace_read_back_correlates_with_the_beat(mitdb_ready, name):
    rec = data.load_record(name)
    t = segment_record(rec, "seed")
    starts, ends = t["start"].to_numpy(), t["end"].to_numpy()
    images = render.render_beats(rec.signal, starts, ends)  # defaults: 128x128, minmax
    corr = [
        np.corrcoef(render.trace_from_image(img), resampled(rec.signal[s:e], 128))[0, 1]
        for img, s, e in zip(images, starts, ends)
    ]
    assert min(corr) >= 0.98, f"worst beat correlates {min(corr):.4f}"
    # the fixed mV scale keeps the waveform too, wherever the beat fits in its range
    lo, hi = render.FIXED_RANGE_MV
    fits = [
        i
        for i, (s, e) in enumerate(zip(starts, ends))
        if lo <= rec.signal[s:e].min() and rec.signal[s:e].max() <= hi
    ][::10]
    fixed = render.render_beats(rec.signal, starts[fits], ends[fits], scale="fixed")
    corr = [
        np.corrcoef(render.trace_from_image(img), resampled(rec.signal[s:e], 128))[0, 1]
        for img, s, e in zip(fixed, starts[fits], ends[fits])
    ]
    assert min(corr) >= 0.98


@pytest.mark.integration
def test_reference_renderer_matches_the_original_recipe(mitdb_ready):
    rec = data.load_record(100)
    t = segment_record(rec, "seed").iloc[:5]
    for s, e in zip(t["start"], t["end"]):
        img = render.render_beat_reference(rec.signal[s:e])
        assert img.shape == (128, 128) and img.dtype == np.uint8
        # matplotlib's axes leave white margins: ink only inside them
        cols = np.flatnonzero((img < 200).any(axis=0))
        assert 10 <= cols.min() and cols.max() <= 118
        tr = render.trace_from_image(img)
        inked = np.flatnonzero(~np.isnan(tr))
        r = np.corrcoef(tr[inked], resampled(rec.signal[s:e], len(inked)))[0, 1]
        assert r > 0.8  # faint, thin line after Lanczos: a rougher read-back than the fast one


def test_reference_renderer_is_pixel_identical_to_the_pyplot_recipe():
    import io

    import cv2
    import matplotlib.pyplot as plt

    x = np.sin(np.linspace(0, 6, 300)) + 0.1 * np.random.default_rng(0).normal(size=300)
    fig = plt.figure(frameon=False)
    plt.plot(x)
    plt.xticks([])
    plt.yticks([])
    for spine in plt.gca().spines.values():
        spine.set_visible(False)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    gray = cv2.imdecode(np.frombuffer(buffer.getvalue(), np.uint8), cv2.IMREAD_GRAYSCALE)
    expected = cv2.resize(gray, (128, 128), interpolation=cv2.INTER_LANCZOS4)
    np.testing.assert_array_equal(render.render_beat_reference(x), expected)


def test_remove_baseline_and_patient_units():
    fs = 360.0
    t = np.arange(7200) / fs
    beat_at = np.arange(180, 7000, 300)
    spikes = np.zeros_like(t)
    for s in beat_at:
        spikes += 2.0 * np.exp(-0.5 * ((np.arange(len(t)) - s) / 4.0) ** 2)  # 2 mV beats
    wander = 0.8 * np.sin(2 * np.pi * 0.2 * t) + 0.5  # mV
    clean = render.remove_baseline(spikes + wander, fs)
    assert clean.dtype == np.float32
    assert np.abs(np.median(clean)) < 0.02  # wander gone
    assert clean[beat_at].min() > 1.8  # beats kept
    ecg = spikes + wander
    norm, template, unit = render.patient_normalize(ecg, beat_at - 90, beat_at + 162, fs)
    assert unit == pytest.approx(2.0, rel=0.05)
    assert template.shape == (256,) and template.max() == pytest.approx(1.0, abs=0.05)
    assert np.abs(norm * unit - clean).max() < 1e-4
    with pytest.raises(ValueError, match="at least one"):
        render.patient_normalize(spikes, np.array([], int), np.array([], int), fs)


def test_a_lead_and_its_negative_give_the_same_patient_units():
    fs = 360.0
    n = 7200
    beat_at = np.arange(180, 7000, 300)
    idx = np.arange(n)
    ecg = np.zeros(n)
    for s in beat_at:  # a small r, a deep S wave, a T wave: the QRS points down
        ecg += 0.3 * np.exp(-0.5 * ((idx - s + 8) / 3.0) ** 2)
        ecg -= 1.5 * np.exp(-0.5 * ((idx - s - 6) / 4.0) ** 2)
        ecg += 0.4 * np.exp(-0.5 * ((idx - s - 100) / 20.0) ** 2)
    starts, ends = beat_at - 90, beat_at + 162
    down, tpl_down, unit_down = render.patient_normalize(ecg, starts, ends, fs)
    up, tpl_up, unit_up = render.patient_normalize(-ecg, starts, ends, fs)
    assert unit_down < 0 < unit_up and abs(unit_down) == pytest.approx(unit_up)
    assert np.abs(down - up).max() < 1e-5 and np.abs(tpl_down - tpl_up).max() < 1e-5
    assert tpl_up.max() > -tpl_up.min()  # drawn with its QRS up
    assert render.qrs_polarity(tpl_up, 360) == 1.0
    assert render.qrs_polarity(-tpl_up, 360) == -1.0


@pytest.mark.parametrize("n", [1, 5, 72, 73, 74, 1000, 30_001])
@pytest.mark.parametrize("k", [1, 3, 73, 217])
def test_running_median_is_scipys_median_filter_value_for_value(n, k):
    from scipy.ndimage import median_filter

    from ecgutils.render import running_median

    x = np.random.default_rng(n + k).normal(size=n).astype(np.float32)
    x[:: max(1, n // 7)] = 0.5  # ties
    np.testing.assert_array_equal(running_median(x, k), median_filter(x, size=k, mode="nearest"))
    assert running_median(np.zeros(0, np.float32), k).shape == (0,)


@pytest.mark.parametrize(
    "size, line_width, scale, oversample",
    [(48, 1.0, "fixed", 4), (128, 2.0, "minmax", 4), (32, 0.5, "fixed", 3), (16, 3.0, "fixed", 1)],
)
def test_render_traces_are_the_traces_of_the_images_value_for_value(
    size, line_width, scale, oversample
):
    from ecgutils.render import render_traces

    rng = np.random.default_rng(size)
    t = np.arange(4000) / 360.0
    x = (np.sin(2 * np.pi * 1.2 * t) ** 15 * 2.5 + 0.05 * rng.normal(size=len(t))).astype(
        np.float32
    )  # sharp peaks (steep columns, long spans), noise, clipping at +-2 mV in "fixed"
    starts = rng.integers(0, 3500, size=300)
    ends = starts + rng.integers(2, 400, size=300).clip(max=4000 - starts)
    ends = np.maximum(ends, starts + 2)
    options = dict(size=size, line_width=line_width, scale=scale, mv_range=(-2.0, 2.0),
                   oversample=oversample)  # fmt: skip
    expected = render.trace_from_image(render.render_beats(x, starts, ends, **options))
    got = render_traces(x, starts, ends, **options, batch=128)
    np.testing.assert_array_equal(got, expected)
    assert np.isnan(expected).sum() == np.isnan(got).sum()
