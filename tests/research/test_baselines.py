"""ecgutils.research.baselines: beat vectors without images, scored like the CNNs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ecgutils.research import baselines


def test_features_put_the_waveform_before_the_rr_features():
    windows = np.arange(6, dtype=np.float32).reshape(2, 3)
    beats = pd.DataFrame(
        {"record": ["1", "1"], "rr_prev_s": [0.8, 0.4], "rr_next_s": [0.8, 1.2],
         "rr_local_s": [0.8, 0.8], "rr_mean_s": [0.8, 0.8]}
    )  # fmt: skip
    plain = baselines.baseline_features(windows, beats, relative=False)
    assert plain.shape == (2, 10) and plain.dtype == np.float32
    np.testing.assert_array_equal(plain[:, :3], windows)
    assert plain[1, 3] == pytest.approx(0.4)  # RR before, seconds
    relative = baselines.baseline_features(windows, beats, relative=True)
    assert relative[1, 3] == pytest.approx(0.5)  # RR before / local mean


def test_unknown_baseline_is_a_clear_error():
    with pytest.raises(ValueError, match="'1-NN', 'trees' or '1-D CNN'"):
        baselines.make_classifier("svm")
    with pytest.raises(ValueError, match="Unknown baseline 'svm'; choose from 1-NN, trees"):
        baselines.baseline_table("quick", models=("1-NN", "svm"))


@pytest.mark.integration
def test_windows_are_centred_on_r_in_mv(mitdb_ready):
    windows, beats = baselines.beat_waveforms("quick")
    assert windows.shape == (len(beats), 85) and set(beats["record"]) == {"100", "107", "207"}
    first = beats["record"] == "100"
    # in record 100 the R peak is the largest deflection of a normal beat: the window's centre
    centre = 90 // baselines.DECIMATE
    normal = (beats["symbol"] == "N").to_numpy() & first.to_numpy()
    assert np.median(np.abs(windows[normal]).argmax(axis=1)) == centre
    assert 0.5 < np.median(windows[normal, centre]) < 3.0  # mV


@pytest.mark.integration
def test_baseline_table_scores_both_protocols(mitdb_ready, monkeypatch):
    from ecgutils import store

    table = baselines.baseline_table("quick", models=("1-NN",))
    assert list(table.index) == ["1-NN"]
    row = table.loc["1-NN"]
    assert 90 < row["hold-out accuracy (%)"] <= 100  # 1-NN is deterministic: 99.48 and 86.22
    assert 80 < row["DS2 accuracy (%)"] <= 100  # record 100 from record 207's beats
    assert row["hold-out ms/beat"] > 0
    folder = baselines.baseline_spec("quick", ("1-NN",)).path
    assert store.is_complete(folder) and (folder / "table.csv").is_file()
    assert folder.name.startswith("quick-") and str(folder) in set(store.entries()["path"])
    mine = [p for p in folder.parent.iterdir() if p.name.startswith(f".{folder.name}.tmp.")]
    assert not mine  # nothing half-written of this entry (other tests may be writing theirs)

    # A second call reads the cache: nothing is fitted again.
    def no_fit(*args):
        raise AssertionError("fitted although the table was cached")

    monkeypatch.setattr(baselines, "_fit_score", no_fit)
    pd.testing.assert_frame_equal(baselines.baseline_table("quick", models=("1-NN",)), table)
    with pytest.raises(AssertionError, match="fitted although"):
        baselines.baseline_table("quick", models=("1-NN",), cache=False)


def test_one_d_cnn_learns_a_separable_toy_problem():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 200)
    t = np.linspace(0, 1, 30)
    waves = np.where(y[:, None] == 0, np.sin(6 * t), -np.sin(6 * t)) + 0.1 * rng.standard_normal(
        (400, 30)
    )
    x = np.column_stack([waves, np.ones((400, 7))]).astype(np.float32)
    cnn = baselines.OneDCNN(epochs=4).fit(x, y)
    assert (cnn.predict(x) == y).mean() > 0.95
    assert 10_000 < cnn.parameters < 100_000


@pytest.mark.integration
def test_trained_model_row_fits_the_baseline_table(quick_trained):
    tm = quick_trained
    row = baselines.trained_model_row(tm, repeats=1)
    table = baselines.baseline_table("quick", models=("1-NN",))
    assert set(row.index) <= set(table.columns)  # lands in the table's own columns
    assert row["hold-out accuracy (%)"] == pytest.approx(100 * tm.metrics["accuracy"])
    assert row["parameters"] == tm.model.count_params()
    assert 0 < row["hold-out ms/beat"] < 1000
    table.loc["cnn"] = row
    assert table.loc["cnn", "hold-out macro Se (%)"] == row["hold-out macro Se (%)"]
