"""ecgutils.interface.plotting: figures have the right content, labels and colours."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from ecgutils.data import read_record
from ecgutils.interface import model_plots, plotting
from ecgutils.research import plots


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_record_strip_marks_beats_and_marks_in_window(synthetic_record):
    rec = read_record(synthetic_record)
    ax = plotting.plot_record_strip(rec, start_s=0.0, duration_s=3.0)
    texts = [t.get_text() for t in ax.texts]
    # 3 s at 360 Hz = 1,080 samples: the beats at samples 180, 470, 760 and 1050.
    shown_beats = [t for t in texts if t in {"N", "V", "A", "!", "f"}]
    assert shown_beats == ["N", "N", "V", "A"]
    assert ax.get_xlabel() == "time (s)" and ax.get_ylabel() == "MLII (mV)"
    assert ax.get_xlim() == pytest.approx((0.0, 3.0))
    # the rhythm mark at sample 10 is drawn with its text
    assert any(t.startswith(" +(N") for t in texts)
    v = next(t for t in ax.texts if t.get_text() == "V")
    assert v.get_color() == plotting.CLASS_COLORS["V"]


def test_record_strip_clips_to_record(synthetic_record):
    rec = read_record(synthetic_record)
    ax = plotting.plot_record_strip(rec, start_s=5.0, duration_s=100.0)
    lo, hi = ax.get_xlim()
    assert hi == pytest.approx(2400 / 360) and lo == pytest.approx(5.0)
    beats = [t.get_text() for t in ax.texts if len(t.get_text()) == 1]
    assert beats == ["f", "N"]  # samples 1920 and 2210 lie after 5 s (1,800 samples)


def test_every_class_of_every_scheme_has_a_colour():
    from ecgutils.classes import CLASS_TABLE

    assert set(CLASS_TABLE["cls"]) <= set(plotting.CLASS_COLORS)
    assert plotting.class_color("?") == plotting.OTHER_COLOR


def test_class_totals_plot_one_panel_per_scheme():
    totals = pd.DataFrame(
        {
            "scheme": ["seed7", "seed7", "aami5"],
            "cls": ["N", "V", "S"],
            "name": ["Normal", "PVC", "SVEB"],
            "count": [100, 10, 5],
            "percent": [90.9, 9.1, 100.0],
        }
    )
    fig = plotting.plot_class_totals(totals)
    assert len(fig.axes) == 2
    assert fig.axes[0].get_title() == "seed7: 110 beats"
    assert [b.get_height() for b in fig.axes[0].patches] == [100, 10]
    assert fig.axes[0].get_yscale() == "log" and "beats" in fig.axes[0].get_ylabel()


def test_class_presence_heatmap_shape_and_labels():
    counts = pd.DataFrame(
        [[10, 0], [3, 4], [0, 0]],
        index=pd.Index(["100", "101", "102"], name="record"),
        columns=pd.Index(["N", "V"], name="paper8"),
    )
    ax = plotting.plot_class_presence(counts)
    assert ax.get_xlabel() == "record" and ax.get_ylabel() == "class (paper8)"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["100", "101", "102"]
    annotated = sorted(t.get_text() for t in ax.texts if t.get_text())
    assert annotated == ["10", "3", "4"]  # zero cells are blank


def test_detector_summary_plot():
    summary = pd.DataFrame(
        {
            "tp": [99, 100, 90, 95],
            "fp": [1, 0, 5, 1],
            "fn": [1, 0, 10, 5],
            "Se (%)": [99.0, 100.0, 90.0, 95.0],
            "+P (%)": [99.0, 100.0, 94.7, 99.0],
            "records": [2, 2, 2, 2],
        },
        index=pd.MultiIndex.from_product(
            [["gqrs", "hamilton"], [False, True]], names=["detector", "refine"]
        ),
    )
    fig = plotting.plot_detector_summary(summary)
    se, ppv = fig.axes[:2]
    assert [t.get_text() for t in se.get_xticklabels()] == ["gqrs", "hamilton"]
    assert sorted(round(b.get_height(), 1) for b in se.patches) == [90.0, 95.0, 99.0, 100.0]
    assert se.get_ylim()[0] <= 89.0 and "Se" in se.get_ylabel() and "+P" in ppv.get_ylabel()


def test_beat_windows_plot_shows_each_rule(synthetic_record):
    from ecgutils.segment import segment_record

    rec = read_record(synthetic_record)
    tables = {rule: segment_record(rec, rule) for rule in ("seed", "paper")}
    ax = plotting.plot_beat_windows(rec, tables, 1)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    row = tables["seed"].iloc[1]
    assert labels[0].startswith(f"seed: {row['start']}-{row['end']}")
    assert labels[1].startswith("paper: ") and ax.get_xlabel() == "time (s)"


def test_image_grid_and_gallery():
    images = np.full((5, 8, 8), 255, dtype=np.uint8)
    fig = plotting.plot_image_grid(images, list("abcde"), ncols=3)
    assert len(fig.axes) == 6 and [a.get_title() for a in fig.axes[:5]] == list("abcde")
    labels = np.array([0, 0, 4, 4, -1])
    fig = plotting.class_gallery(images, labels, "paper8", per_class=2)
    titles = [a.get_title() for a in fig.axes]
    assert len(fig.axes) == 16  # 8 classes x 2
    assert titles[0] == "N Normal" and titles[2] == "L: none" and titles[8] == "V PVC"


def test_class_balance_plot():
    from ecgutils.augment import class_balance

    ax = plotting.plot_class_balance(class_balance(np.array([0, 0, 0, 4]), "paper8"))
    heights = [b.get_height() for b in ax.patches]
    assert heights[:8] == [3, 0, 0, 0, 1, 0, 0, 0] and heights[8:] == [3, 0, 0, 0, 10, 0, 0, 0]


def test_trace_readback_plot():
    from ecgutils.render import render_beats

    beat = np.sin(np.linspace(0, 3, 200))
    ax = plotting.plot_trace_readback(render_beats(beat, [0], [len(beat)])[0], beat)
    r = float(ax.get_title().split("=")[1])
    assert 0.99 <= r <= 1.0 and len(ax.get_lines()) == 2


def test_per_record_ablation_and_split_figures():
    from ecgutils.evaluate import per_record_table

    rng = np.random.default_rng(0)
    records = np.repeat(["100", "200", "232"], 40)
    y_true = rng.integers(0, 3, 120)
    y_pred = np.where(rng.random(120) < 0.8, y_true, 0)
    fig = model_plots.plot_per_record(per_record_table(records, y_true, y_pred), target=94)
    top, bottom = fig.axes[:2]
    assert top.get_ylabel() == "accuracy (%)" and bottom.get_xlabel() == "record (patient)"
    assert [t.get_text() for t in bottom.get_xticklabels()] == list(
        per_record_table(records, y_true, y_pred).index
    )
    cols = ["accuracy (%)", "S Se (%)", "S +P (%)", "V Se (%)", "V +P (%)"]
    table = pd.DataFrame(
        [[90, 50, 40, 80, 85], [95, 80, 55, 92, 91]], index=["a", "b"], columns=cols
    )
    fig = plots.plot_ablation(table, {"S se": 0.75, "V ppv": 0.9, "accuracy": 0.94})
    ticks = {t.get_text(): t.get_position()[1] for t in fig.axes[0].get_yticklabels()}
    assert ticks["a"] > ticks["b"]  # first step on top
    assert len(fig.axes[0].lines) == 1 and len(fig.axes[1].lines) == 1  # the target lines
    fig = model_plots.plot_split_comparison(table)
    assert len(fig.axes[0].patches) == 10 and fig.axes[0].get_ylabel() == "%"


def test_feature_set_figure_shows_ds1_folds_beside_ds2():
    cols = [f"{w} {c} {s} (%)" for w in ("DS1 folds", "DS2") for c in "SV" for s in ("Se", "+P")]
    table = pd.DataFrame([list(range(10, 90, 10)), [np.nan] * 4 + list(range(50, 90, 10))],
                         index=["recipe", "+ P wave"], columns=cols)  # fmt: skip
    fig = plots.plot_feature_sets(table, {"S se": 0.8, "S ppv": 0.75})
    assert [ax.get_xlabel() for ax in fig.axes[:4]] == ["S Se (%)", "S +P (%)", "V Se (%)",
                                                         "V +P (%)"]  # fmt: skip
    assert len(fig.axes[0].patches) == 4  # two sets, DS1 folds and DS2 each
    assert [p.get_width() for p in fig.axes[0].patches] == [10, 0, 50, 50]  # NaN: no bar
    assert len(fig.axes[0].lines) == 1 and len(fig.axes[2].lines) == 0  # target lines
    ticks = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert ticks == ["recipe", "+ P wave"]
    plt.close(fig)


def test_trace_difference_figure_has_both_rows_labelled():
    img = np.full((2, 16, 16), 255, np.uint8)
    img[0, 4], img[1, 9] = 0, 0
    tmpl = np.full((16, 16), 255, np.uint8)
    tmpl[8] = 0
    fig = model_plots.plot_trace_difference(img, tmpl, ["N", "V"])
    top, bottom = fig.axes[0], fig.axes[2]
    assert bottom.get_xlabel() == "time from R (ms)" and top.get_ylabel() == "height (pixels)"
    np.testing.assert_allclose(bottom.lines[0].get_ydata(), 4.0)  # 4 rows above the template
    np.testing.assert_allclose(top.lines[0].get_xdata()[[0, -1]], [-250, 450])
    assert top.get_title() == "N" and fig.axes[1].lines[1].get_color() == plotting.class_color("V")


def test_heat_figures_label_their_axes():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (3, 16, 16)).astype(np.uint8)
    heats = rng.random((2, 3, 16, 16))
    fig = model_plots.plot_heat_overlays(images, heats, ["N", "V", "A"], rows=("image", "a", "b"))
    assert len(fig.axes) == 9 and fig.axes[0].get_ylabel() == "image"
    signal = np.sin(np.linspace(0, 6, 400))
    ax = model_plots.plot_heat_on_beat(signal, 100, 300, 200, rng.random(16), fs=360.0, title="t")
    assert ax.get_xlabel() == "time from R (ms)" and ax.get_ylabel() == "amplitude (mV)"
    shares = pd.DataFrame(
        {"P": [0.2, 0.1], "QRS": [0.5, 0.6], "ST-T": [0.3, 0.3]}, index=["N", "V"]
    )
    ax = model_plots.plot_wave_shares(shares)
    assert "share" in ax.get_xlabel() and len(ax.patches) == 6


@pytest.mark.integration
def test_pipeline_figure_from_the_command_line(mitdb_ready, tmp_path):
    from ecgutils.__main__ import main

    out = tmp_path / "pipeline.png"
    assert main(["figure", "pipeline", "--record", "207", "--out", str(out)]) == 0
    assert out.stat().st_size > 20_000
    assert not list(tmp_path.glob(".*"))  # written at once, nothing temporary left
    from ecgutils.data import load_record

    rec = load_record("207")
    start = plotting.pipeline_window(rec, 6.0)
    inside = (rec.beats.sample >= start * rec.fs) & (rec.beats.sample < (start + 6) * rec.fs)
    assert "V" in set(rec.beats.symbol[inside]) and len(set(rec.beats.symbol[inside])) >= 2
    from ecgutils.deploy.predict import load_deployed_model, predict_strip

    cnn8 = load_deployed_model("cnn8")
    answer = predict_strip(rec, start, 6.0, cnn8)
    fig = plotting.plot_pipeline(answer, cnn8, rec, start)
    titles = " ".join(ax.get_title() for ax in fig.axes)
    for step in ("1 ·", "2 ·", "3 ·", "4 ·"):
        assert step in titles
    assert "reference" in titles and "predicted" in titles
    plt.close(fig)


def test_confusion_from_metrics_or_from_a_stored_counts_table():
    from ecgutils.evaluate import classification_metrics, confusion_frame

    y_true = np.array([0, 0, 0, 1, 1, 2])
    y_pred = np.array([0, 0, 1, 1, 1, 2])
    metrics = classification_metrics(y_true, y_pred, "aami5")
    ax1 = model_plots.plot_confusion(metrics)
    counts = confusion_frame(metrics).rename_axis(index="true", columns=None)  # as read from CSV
    ax2 = model_plots.plot_confusion(counts)
    texts1 = [t.get_text() for t in ax1.texts]
    assert texts1 == [t.get_text() for t in ax2.texts]
    assert "66.7" in texts1 and "33.3" in texts1  # row N: 2 of 3 right
    assert (
        ax1.get_title()
        == ax2.get_title()
        == ("Confusion matrix, normalised by true class (%): 6 test beats")
    )
    assert ax2.get_xlabel() == "predicted class" and ax2.get_ylabel() == "true class"


def _primer_record():
    from ecgutils.data import Annotations, Record

    fs, n = 360.0, 360 * 12
    rng = np.random.default_rng(0)
    signal = rng.normal(0, 0.01, n)
    samples = np.arange(1, 12) * 360
    symbols = np.array(["N", "N", "V", "N", "N", "V", "N", "N", "N", "V", "N"])
    for s, sym in zip(samples, symbols):
        signal[s - 5 : s + 5] += 1.0 if sym == "N" else -2.0
    signal[samples[5] + 50] += 3.0  # one V beat far from the others: never the typical one
    beats = Annotations(samples, symbols, np.array([""] * len(samples)))
    marks = Annotations(
        np.array([], dtype=np.int64), np.array([], dtype=str), np.array([], dtype=str)
    )
    return Record("syn", signal, fs, "MLII", ("MLII",), beats, marks)


def test_primer_picks_a_typical_beat_per_class_and_marks_the_waves():
    rec = _primer_record()
    examples = plotting.primer_beats([rec], classes=("N", "V", "A"))
    assert set(examples) == {"N", "V"}  # no A beat in the record: left out
    assert examples["V"][0] is rec and examples["V"][1] in (3 * 360, 10 * 360)  # not the odd one
    assert examples["N"][1] not in (360, 11 * 360)  # first and last beats have no neighbour
    fig = plotting.plot_beat_primer(examples, ncols=2)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "ms from the R peak" and ax.get_ylabel() == "MLII (mV)"
    texts = {t.get_text() for t in ax.texts}
    assert {"P", "QRS", "ST-T"} <= texts and any(t.startswith("RR 1000 ms") for t in texts)
    assert "narrow QRS" in ax.get_title(loc="left")
    plt.close(fig)


def test_beat_in_context_shades_the_window_beside_the_image(mitdb_ready):
    import matplotlib.pyplot as plt
    import numpy as np

    from ecgutils.data import load_record
    from ecgutils.segment import segment_record

    rec = load_record(100)
    beat = segment_record(rec, "seed").iloc[10]
    fig = plotting.plot_beat_in_context(rec, beat, image=np.full((48, 48), 255, np.uint8))
    strip, image = fig.axes
    assert strip.get_xlabel() == "time (s)" and "(mV)" in strip.get_ylabel()
    lo, hi = strip.get_xlim()
    assert lo < beat["r"] / rec.fs < hi and hi - lo == pytest.approx(5.0, abs=0.01)
    assert "48x48" in image.get_title()
    plt.close(fig)
    assert len(plotting.plot_beat_in_context(rec, beat).axes) == 1
    plt.close("all")


def test_beat_against_template_shades_the_difference():
    import matplotlib.pyplot as plt
    import numpy as np

    image = np.full((16, 16), 255, np.uint8)
    template = image.copy()
    image[4, :], template[10, :] = 0, 0  # a flat line high up against one lower down
    fig = model_plots.plot_beat_against_template(image, template, "V beat")
    beat_img, tmpl_img, traces = fig.axes
    assert traces.get_xlabel() == "time from R (ms)" and "patient units" in traces.get_ylabel()
    lines = {ln.get_label(): ln.get_ydata() for ln in traces.get_lines()}
    assert (lines["beat"] > lines["template"]).all()  # row 4 is higher than row 10
    assert traces.get_title() == "V beat"
    plt.close(fig)


def test_heart_rate_per_hour_plot():
    from ecgutils.deploy.holter import holter_summary

    fs = 100.0
    t = np.r_[np.arange(0, 3600, 1.0), 3600 + np.arange(0, 1800, 0.5)]  # 60 then 120 bpm
    s = holter_summary(np.rint(t * fs).astype(int), ["N"] * len(t), fs, duration_s=5400)
    ax = model_plots.plot_heart_rate(s.hours)
    means = ax.lines[0].get_ydata()
    assert means[0] == pytest.approx(60, abs=0.5) and means[1] == pytest.approx(120, abs=0.5)
    assert ax.get_ylabel() == "heart rate (bpm)" and "hour" in ax.get_xlabel()
    assert "mean" in ax.get_title()
    plt.close(ax.figure)
