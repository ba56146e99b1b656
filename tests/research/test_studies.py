"""ecgutils.research.studies: the inter-patient recipe on the small "tiny" profile
(tests/conftest.py) that checks plumbing. Cross-validation, the variants, the protocol
comparison and the ablation run as named experiments in the quick profile, each twice (the
second run must train nothing): tests/research/test_registry.py."""

from __future__ import annotations

import pytest

from ecgutils import train
from ecgutils.research import studies


@pytest.mark.integration
def test_interpatient_recipe_trains_on_ds1_and_tests_on_ds2(tiny):
    from ecgutils.config import DS1, DS2

    tm = train.load_or_train(tiny, verbose=0, **{**studies.INTERPATIENT, "ensemble": 1})
    records = tm.dataset.beats["record"].astype(str).to_numpy()
    assert set(records[tm.split["train"]]) | set(records[tm.split["val"]]) == {"207"}
    assert set(records[tm.split["test"]]) == {"100"} and set(records) >= {"107"}
    assert set(records[tm.split["test"]]) <= set(DS2) and "207" in DS1
    assert tm.metadata["split_kind"] == "inter-patient DS1 -> DS2"
    ec = tm.metrics["ec57"]
    assert ec["n"] == len(tm.split["test"]) and set(ec["per_class"]) == {"N", "S", "V", "F"}
    image, feats = tm.model.inputs
    assert tuple(image.shape[1:]) == (16, 16, 2) and feats.shape[1] == 11
    with pytest.raises(ValueError, match="not classes of aami5"):
        train.load_or_train(tiny, verbose=0, **{**studies.INTERPATIENT, "ignore_classes": ("X",)})


def test_recipe_tables_cannot_be_changed_by_accident():
    with pytest.raises(TypeError):
        studies.INTERPATIENT["ensemble"] = 1
    with pytest.raises(TypeError):
        studies.ABLATION_STEPS["+ rhythm irregularity"]["rhythm"] = False
    with pytest.raises(TypeError):
        studies.ABLATION_STEPS["new step"] = {}
