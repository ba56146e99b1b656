"""ecgutils.dataset: a profile to arrays, cached by parameters."""

from __future__ import annotations

import numpy as np
import pytest

from ecgutils import dataset
from ecgutils.classes import label_symbols

pytestmark = pytest.mark.integration


@pytest.fixture
def cache(tmp_path, monkeypatch):
    from ecgutils import store

    monkeypatch.setattr(store, "data_dir", lambda: tmp_path)
    return tmp_path / "cache" / "beats"


def test_build_then_load_from_cache(mitdb_ready, cache):
    ds = dataset.build_dataset("quick", records=["100"], size=32, progress=False)
    assert ds.images.shape == (2271, 32, 32) and ds.images.dtype == np.uint8
    assert len(ds.beats) == len(ds) and set(ds.timings) == {"load", "segment", "render"}
    np.testing.assert_array_equal(ds.labels("paper8"), label_symbols(ds.beats["symbol"], "paper8"))
    assert ds.class_counts("paper8").to_dict() == {
        "N": 2237,
        "L": 0,
        "R": 0,
        "A": 33,
        "V": 1,
        "/": 0,
        "E": 0,
        "!": 0,
    }
    assert ds.rr.shape == (2271, 4) and (ds.rr > 0.2).all()
    folders = list(cache.glob("seed-minmax-32px-1rec-*"))
    assert len(folders) == 1 and (folders[0] / "images.npy").is_file()
    again = dataset.build_dataset("quick", records=["100"], size=32, progress=False)
    assert again.timings == {}  # came from the cache
    np.testing.assert_array_equal(again.images, ds.images)
    assert again.beats.equals(ds.beats)


def test_options_change_the_key_and_no_cache_writes_nothing(mitdb_ready, cache):
    a = dataset.dataset_params("quick", records=["100"], size=32)
    b = dataset.dataset_params("quick", records=["100"], size=32, scale="fixed")
    c = dataset.dataset_params("quick", records=["107"], size=32)
    assert len({dataset.cache_key(p) for p in (a, b, c)}) == 3
    assert a["data_fingerprint"] != c["data_fingerprint"]
    assert dataset.dataset_params("quick")["size"] == 32  # the profile's own image size
    dataset.build_dataset("quick", records=["100"], size=16, cache=False, progress=False)
    assert not cache.exists()


def test_quick_profile_holds_every_class_as_images(mitdb_ready, cache):
    ds = dataset.build_dataset("quick", progress=False)
    assert (ds.class_counts("paper8") > 0).all()
    assert ds.images.shape[1:] == (32, 32)


def test_patient_scale_draws_beats_in_their_record_units_with_a_template(mitdb_ready, cache):
    ds = dataset.build_dataset(
        "quick", records=["100", "207"], rule="fixed", scale="patient", size=32, progress=False
    )
    assert ds.params["mv_range"] == [-2.0, 2.0]
    assert ds.templates.shape == (2, 32, 32) and ds.templates.dtype == np.uint8
    idx = ds.template_index()
    assert set(idx[ds.beats["record"] == "207"]) == {1}
    # the template of record 100 looks like its typical (normal) beat
    normal = ds.images[(ds.beats["record"] == "100") & (ds.beats["aami5"] == 0)]
    mean = normal.astype(float).mean(axis=0)
    corr = np.corrcoef(mean.ravel(), ds.templates[0].astype(float).ravel())[0, 1]
    assert corr > 0.8
    again = dataset.build_dataset(
        "quick", records=["100", "207"], rule="fixed", scale="patient", size=32, progress=False
    )
    np.testing.assert_array_equal(again.templates, ds.templates)
    with pytest.raises(ValueError, match="Unknown scale"):
        dataset.dataset_params("quick", scale="loud")


def test_rhythm_features_separate_regular_from_irregular():
    import pandas as pd

    rng = np.random.default_rng(0)
    regular = np.cumsum(np.full(60, 288))  # 0.8 s at 360 Hz
    regular[30] -= 100  # one premature beat
    irregular = np.cumsum(rng.integers(150, 400, 60))
    beats = pd.DataFrame(
        {"record": ["a"] * 60 + ["b"] * 60, "r": np.concatenate([regular, irregular])}
    )
    f = dataset.rhythm_features(beats)
    assert f.shape == (120, 4) and f.dtype == np.float32
    assert np.allclose(f[:60, :2], 0.0, atol=1e-6)  # medians ignore one premature beat ...
    assert (f[:60, 2:] <= 0.15).all()  # ... and makes a few jumps only
    assert (f[70:110] > 0.1).all()
    assert len(dataset.rhythm_features(beats.iloc[:0])) == 0


def _rr_table(prev, record="a"):
    import pandas as pd

    prev = np.asarray(prev, dtype=float)
    nxt = np.r_[prev[1:], np.nan]
    return pd.DataFrame(
        {
            "record": record,
            "rr_prev_s": prev,
            "rr_next_s": nxt,
            "rr_local_s": np.full(len(prev), np.nanmean(prev)),
            "rr_mean_s": np.full(len(prev), np.nanmean(prev)),
        }
    )


def test_reference_beats_and_relative_rr_follow_the_patients_own_rhythm():
    # like record 232: premature beats (0.7 s) are the majority, sinus beats follow 1.8 s pauses
    prev = [np.nan, 0.7, 0.7, 1.8, 0.7, 0.7, 0.7, 1.8, 0.7, 0.7]
    beats = _rr_table(prev)
    ref = dataset.reference_beats(beats)
    assert ref.tolist() == [False, True, True, True, True, True, True, True, True, True]
    # the median is 0.7 here, so every beat but the first qualifies; with a sinus majority:
    sinus = _rr_table([np.nan, 1.0, 1.0, 0.6, 1.0, 1.0, 1.0, 0.6, 1.0, 1.0], record="b")
    assert dataset.reference_beats(sinus).tolist() == [False] + [
        p >= 1.0 for p in sinus.rr_prev_s[1:]
    ]
    f = dataset.relative_rr_features(sinus)
    assert f.shape == (10, 7) and f.dtype == np.float32
    assert f[3, 4] == pytest.approx(0.6)  # premature: 0.6 s against the reference 1.0 s
    assert f[1, 4] == pytest.approx(1.0) and f[0, 4] == 1.0  # first beat: neutral
    both = dataset.relative_rr_features(pd_concat(beats, sinus))
    np.testing.assert_allclose(both[10:], f)  # records do not mix


def pd_concat(*frames):
    import pandas as pd

    return pd.concat(frames, ignore_index=True)
