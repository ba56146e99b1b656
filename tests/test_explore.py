"""ecgutils.interface.explore: what the explorer widgets draw is what the data sets hold."""

from __future__ import annotations

import numpy as np
import pytest

from ecgutils import dataset, trees
from ecgutils.data import load_record
from ecgutils.interface import explore
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
        # 207's QRS points down in MLII: its unit is signed negative (the record is turned over)
        assert 0.3 < -got["unit_mv"] < 5.0
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


def test_error_table_lists_mistakes_most_confident_first():
    import pandas as pd

    beats = pd.DataFrame({
        "record": ["100", "100", "207", "207"], "r": [360, 720, 3600, 7200],
        "rr_prev_s": [1.0, 0.5, 0.8, 0.8], "rr_next_s": [1.0, 1.5, 0.8, 0.8],
        "rr_local_s": [1.0, 1.0, 0.8, 0.8],
    })  # fmt: skip
    probs = np.array([[0.9, 0.1], [0.3, 0.7], [0.1, 0.9], [0.6, 0.4]])
    got = explore.error_table(beats, [0, 1, 2, 3], [0, 0, 1, 1], probs, ["N", "V"])
    assert list(got["beat"]) == [1, 3]  # p 0.7 before p 0.6; beats 0 and 2 are right
    first = got.iloc[0]
    assert (first["record"], first["true"], first["predicted"]) == ("100", "N", "V")
    assert first["time (s)"] == 2.0 and first["p(true)"] == 0.3
    assert (first["RR before (ms)"], first["RR after (ms)"]) == (500.0, 1500.0)
    assert first["RR before / local"] == 0.5  # early: half the local rhythm
    assert explore.error_table(beats, [0], [0], probs[:1], ["N", "V"]).empty


def test_s_operating_points_trade_sensitivity_for_predictivity():
    labels = np.array([0, 0, 0, 1, 1, 2])  # N N N S S V
    probs = np.array([
        [0.9, 0.1, 0.0, 0.0, 0.0], [0.6, 0.4, 0.0, 0.0, 0.0], [0.5, 0.3, 0.2, 0.0, 0.0],
        [0.2, 0.8, 0.0, 0.0, 0.0], [0.7, 0.3, 0.0, 0.0, 0.0], [0.1, 0.2, 0.7, 0.0, 0.0],
    ])  # fmt: skip
    table = explore.s_operating_points(labels, probs, [0.25, 0.35, 0.9])
    assert list(table["S calls"]) == [4, 2, 0]  # 0.25: 0.4, 0.3, 0.8, 0.3; 0.35: 0.4, 0.8
    assert table.loc[0.25, "S Se (%)"] == 100.0 and table.loc[0.25, "S +P (%)"] == 50.0
    assert table.loc[0.35, "S Se (%)"] == 50.0 and table.loc[0.35, "S +P (%)"] == 50.0
    assert table.loc[0.9, "S Se (%)"] == 0.0
    assert (table["V Se (%)"] == 100.0).all()  # below its threshold a beat takes its next class


def test_ds1_fold_probabilities_never_read_ds2(mitdb_ready):
    from ecgutils import store
    from ecgutils.config import DS1, Profile

    prof = Profile(
        name="ds1-folds-test", description="Five DS1 records at 16x16.",
        records=("101", "106", "207", "209", "220"), image_size=16, epochs=1,
    )  # fmt: skip
    got = trees.ds1_fold_probabilities(prof, max_iter=20)
    assert set(got["records"]) == set(prof.records) and set(prof.records) <= set(DS1)
    assert (got["labels"] >= 0).all() and (got["labels"] != 4).all()  # scored classes only
    np.testing.assert_allclose(got["probabilities"].sum(axis=1), 1.0)
    with store.track() as work:
        again = trees.ds1_fold_probabilities(prof, max_iter=20)
    assert work["built"] == [] and np.array_equal(again["labels"], got["labels"])
    with pytest.raises(ValueError, match="patient folds need"):
        trees.ds1_fold_probabilities("quick")  # one DS1 record only
