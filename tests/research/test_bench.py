"""ecgutils.research.bench: the render benchmark runs and reports consistent figures."""

from __future__ import annotations

import pytest

from ecgutils.research.bench import bench_render


@pytest.mark.integration
def test_bench_render_small(mitdb_ready):
    b = bench_render(n_beats=6, size=32, repeats=1, database_profile="quick")
    assert b.n_beats == 6 and b.reference_ms > b.fast_ms > 0
    assert b.database_beats > 5000 and b.database_s > 0
    text = str(b)
    assert "ms/beat" in text and "speed-up" in text and f"{b.database_beats:,} beats" in text


@pytest.mark.integration
def test_bench_readback_reports_the_distribution(mitdb_ready):
    from ecgutils.research.bench import bench_readback

    text = bench_readback(["100"], size=64)
    assert text.startswith("Read-back correlation of 2,271 beats at 64x64: min 0.")
    assert "beats below 0.98:" in text


@pytest.mark.integration
def test_bench_interpatient_reports_ec57_against_the_targets(tiny):
    from ecgutils.research.bench import INTERPATIENT_TARGETS, bench_interpatient

    text = bench_interpatient(tiny, "cnn", ensemble=1)
    assert text.startswith("Inter-patient DS1 -> DS2 (de Chazal 2004), profile tiny: compact")
    assert "test 2,271 beats (DS2" in text and "Overall accuracy:" in text
    # issue 17's six targets, then issue 32's six CNN targets and the F1 against the trees
    assert text.count("(target >= ") == 12 and "(target <= 30 min" in text
    assert "F sensitivity: " in text and "Targets of the CNN on new patients" in text
    assert "S F1: " in text and "beat the trees' best DS2 rows fixed on DS1" in text
    assert text.splitlines()[-1].startswith("This machine: ") and "(models.time_per_image)" in text
    assert INTERPATIENT_TARGETS == {  # issue 17: above every published DS1 -> DS2 row
        "V se": 0.95, "V ppv": 0.93, "S se": 0.80, "S ppv": 0.75, "F se": 0.50,
        "accuracy": 0.97, "minutes": 30.0,
    }  # fmt: skip


@pytest.mark.integration
def test_bench_interpatient_trees_on_quick(mitdb_ready):
    from ecgutils.research.bench import bench_interpatient

    text = bench_interpatient("quick", n_models=1, max_iter=40)
    assert text.startswith("Inter-patient DS1 -> DS2 (de Chazal 2004), profile quick: 1 gradient")
    assert "7 relative RR + 4 rhythm + 32 trace differences" in text
    assert "test 2,271 beats (DS2" in text and text.count("(target >= ") == 6
    with pytest.raises(ValueError, match="epochs apply to the CNN"):
        bench_interpatient("quick", epochs=1)
    selftrained = bench_interpatient("quick", "selftrained", n_models=1, max_iter=40)
    assert "Then self-trained per DS2 record on its own unlabelled beats" in selftrained
    assert selftrained.count("(target >= ") == 6
    with pytest.raises(ValueError, match="trees, cnn, selftrained, joined, cnn-batchnorm"):
        bench_interpatient("quick", "svm")
    with pytest.raises(ValueError, match="takes no overrides"):
        bench_interpatient("quick", "joined", n_models=1)


@pytest.mark.integration
def test_bench_interpatient_joined_on_quick(mitdb_ready):
    from ecgutils.research.bench import bench_interpatient

    text = bench_interpatient("quick", "joined")
    assert "profile quick: S from the P-wave trees, the rest from the recipe's" in text
    assert "+ P wave, MLII, self-trained, 3 models before: 49" in text  # 43 + 6 P-wave columns
    assert "recipe, self-trained, 3 models before: 43" in text
    assert "test 2,271 beats (DS2" in text and text.count("(target >= ") == 6
    assert text.splitlines()[-1].startswith("This machine: ")


@pytest.mark.integration
def test_bench_predict_reports_speed_and_agreement(mitdb_ready):
    from ecgutils.research.bench import bench_predict

    text = bench_predict("100", repeats=1)
    lines = text.splitlines()
    assert (
        lines[0].startswith("Model: gradient-boosted trees (") and "(shipped 'trees';" in lines[0]
    )
    assert lines[1].startswith("Record 100 as CSV: 650,000 rows (30.1 min)")
    assert "Prediction after start-up, best of 1: " in lines[2] and "(target <= 1.5 s: " in lines[2]
    assert lines[3].startswith("Start-up in a fresh process") and "(target <= 4 s: " in lines[3]
    assert " ms/image (models.time_per_image" in lines[4]
    assert "of 2,273 reference beats found" in lines[5]
    with pytest.raises(ValueError, match="cannot self-train .* without --self-train"):
        bench_predict("100", repeats=1, model="cnn8", self_train=True)  # refused before timing


@pytest.mark.integration
def test_bench_records_counts_beats_found_and_pvcs_called_v(mitdb_ready):
    from ecgutils.research.bench import bench_records, records_table

    table = records_table(["100", "207"])
    assert list(table.index) == ["100", "207"] and table.loc["100", "beats"] == 2273
    assert table.loc["100", "found (%)"] > 99.5 and table.loc["207", "PVCs"] == 105
    assert (table["PVCs called V"] <= table["PVCs"]).all() and (table["lead"] == "MLII").all()
    text = bench_records(["100"])
    assert "2,2" in text and "reference beats found, all records: " in text
    assert "ms/image (models.time_per_image)" in text


def test_long_bench_scores_an_answer_against_the_reference_beats():
    """bench neighbourhood's EC57: beats matched within 150 ms, a missed beat is not scored."""
    import pandas as pd

    from ecgutils.research.longbench import _ec57_figures

    ref = pd.DataFrame({"r": [100, 500, 900, 1300, 1700], "class": ["N", "V", "N", "S", "N"]})
    same = _ec57_figures(ref.assign(r=ref["r"] + 20), ref)  # 56 ms late: still the same beats
    assert same["accuracy (%)"] == 100 and same["V Se (%)"] == 100 and same["S +P (%)"] == 100
    wrong = _ec57_figures(
        ref.assign(**{"class": ["N", "N", "N", "S", "N"]}).iloc[[0, 1, 3, 4]], ref
    )
    assert wrong["accuracy (%)"] == 75 and wrong["V Se (%)"] == 0 and wrong["S Se (%)"] == 100
