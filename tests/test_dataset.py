"""ecgutils.dataset: a profile to arrays, cached by parameters."""

from __future__ import annotations

import numpy as np
import pytest

from ecgutils import dataset
from ecgutils.classes import label_symbols

pytestmark = pytest.mark.integration


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setattr(dataset, "cache_dir", lambda: tmp_path)
    return tmp_path


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
    folders = list(cache.glob("beats-*"))
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
    assert list(cache.iterdir()) == []


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
    irregular = np.cumsum(rng.integers(150, 400, 60))
    beats = pd.DataFrame(
        {"record": ["a"] * 60 + ["b"] * 60, "r": np.concatenate([regular, irregular])}
    )
    f = dataset.rhythm_features(beats)
    assert f.shape == (120, 7) and f.dtype == np.float32
    assert np.allclose(f[:60, :6], 0.0, atol=1e-6)  # constant RR: no spread at all
    assert np.allclose(f[5:55, 6], 1.0, atol=1e-6)  # ... and its lower quartile is the mean
    assert (f[70:110, :6] > 0.1).all()
    assert len(dataset.rhythm_features(beats.iloc[:0])) == 0
