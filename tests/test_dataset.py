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
