"""ecgutils.explore: what the explorer widgets draw is what the data sets hold."""

from __future__ import annotations

import numpy as np
import pytest

from ecgutils import dataset, explore
from ecgutils.data import load_record
from ecgutils.segment import segment_record

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(("rule", "scale"), [("seed", "minmax"), ("fixed", "patient")])
def test_record_images_are_the_data_sets_images(mitdb_ready, rule, scale):
    ds = dataset.build_dataset("quick", records=["207"], rule=rule, scale=scale, size=32)
    rec = load_record("207")
    table = segment_record(rec, rule)
    rows = [0, 5, len(table) - 1]
    got = explore.record_images(rec, table, rows, size=32, scale=scale)
    np.testing.assert_array_equal(got["images"], ds.images[rows])
    if scale == "patient":
        np.testing.assert_array_equal(got["template"], ds.templates[0])
        assert 0.3 < got["unit_mv"] < 5.0
        again = explore.record_images(
            rec, table, rows, size=32, scale=scale, normalized=explore.patient_signal(rec, table)
        )
        np.testing.assert_array_equal(again["images"], got["images"])
    else:
        assert got["template"] is None and got["unit_mv"] is None
    with pytest.raises(ValueError, match="Unknown scale"):
        explore.record_images(rec, table, rows, scale="loud")


def test_class_rows_name_the_classes_a_record_holds(mitdb_ready):
    table = segment_record(load_record("100"), "seed")
    rows = explore.class_rows(table)
    assert list(rows) == ["N", "A", "V"] and len(rows["V"]) == 1
    assert sum(len(r) for r in rows.values()) == (table["paper8"] >= 0).sum()
