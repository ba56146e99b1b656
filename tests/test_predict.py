"""ecgutils.deploy.predict: every input format, every bad input, predictions of a shipped model."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import synthetic_wave

from ecgutils.__main__ import main
from ecgutils.deploy import predict

WAVE = synthetic_wave()  # 2,400 samples at 360 Hz, mV


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _strip(tmp_path: Path) -> Path:
    """Ten seconds of a synthetic ECG as a PhysioNet-style export (it states its rate)."""
    x = np.tile(WAVE, 2)
    path = tmp_path / "strip.csv"
    predict.export_csv(x, 360, path)
    return path


def _one_line_error(capsys, *needles: str) -> str:
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    for needle in needles:
        assert needle in err, err
    return err


def test_cli_broken_model_card_is_one_line(tmp_path, capsys):

    folder = tmp_path / "model"
    shutil.copytree(predict.MODEL_DIR, folder)
    card = json.loads((folder / "card.json").read_text())
    del card["rule"], card["scale"]  # a card of another version of the course
    (folder / "card.json").write_text(json.dumps(card))
    assert main(["predict", str(_strip(tmp_path)), "--model", str(folder)]) == 1
    _one_line_error(capsys, "lacks rule, scale", "ship-model")
    (folder / "card.json").write_text("{not json")
    assert main(["predict", str(_strip(tmp_path)), "--model", str(folder)]) == 1
    _one_line_error(capsys, "not valid JSON")
    (folder / "card.json").write_text(json.dumps({**card, "rule": "x", "scale": "x"}))
    (folder / "model.keras").write_bytes(b"not a model")
    assert main(["predict", str(_strip(tmp_path)), "--model", str(folder)]) == 1
    _one_line_error(capsys, "Cannot load")


def test_cli_error_inside_the_detector_is_one_line(tmp_path, capsys, monkeypatch):
    from scipy import signal

    def broken(*args, **kwargs):
        raise ZeroDivisionError("division by zero in find_peaks")

    monkeypatch.setattr(signal, "find_peaks", broken)  # inside the deployed detector
    assert main(["predict", str(_strip(tmp_path))]) == 1
    _one_line_error(capsys, "unexpected ZeroDivisionError", "ECG_DEBUG=1")
    monkeypatch.setenv("ECG_DEBUG", "1")
    with pytest.raises(ZeroDivisionError):
        main(["predict", str(_strip(tmp_path))])


def test_cli_usage_errors_are_one_line(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["predict"])
    assert stop.value.code == 2
    _one_line_error(capsys, "required: file", "--help")
    with pytest.raises(SystemExit):
        main(["predict", "x.csv", "--decimal", "dot"])
    _one_line_error(capsys, "invalid choice")


def test_uploads_leave_no_file_behind(tmp_path, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with pytest.raises(ValueError, match="mine.csv, line 3"):
        predict.classify_bytes(b" Sample Value\n0.1\nx\n", "mine.csv")
    assert list(tmp_path.iterdir()) == []


def test_a_wfdb_record_uploaded_as_two_files(synthetic_record, tmp_path, monkeypatch):
    """The page's header + signal pair gives the command line's answer for the same record;
    a pair with a part missing says which part, and no upload leaves a file behind."""
    import tempfile

    hea, dat = (synthetic_record.with_suffix(s) for s in (".hea", ".dat"))
    files = [(p.name, p.read_bytes()) for p in (hea, dat)]
    want = predict.classify_file(hea, lead="MLII").beats
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(uploads))
    got = predict.classify_upload(files[::-1], lead="MLII")
    pd.testing.assert_frame_equal(got.beats, want)
    assert got.ecg.source == "syn.hea"
    with pytest.raises(ValueError, match="syn.hea keeps its samples in syn.dat, which was not"):
        predict.classify_upload(files[:1])
    with pytest.raises(ValueError, match="syn.dat: no WFDB header"):
        predict.classify_bytes(files[1][1], "syn.dat")
    with pytest.raises(ValueError, match=r"a.csv \+ b.csv: no WFDB header"):
        predict.classify_upload([("a.csv", b"1"), ("b.csv", b"2")])
    with pytest.raises(ValueError, match="Choose an ECG file first"):
        predict.classify_upload([])
    assert list(uploads.iterdir()) == []


def test_resample_keeps_duration_and_frequency():
    fs = 250.0
    t = np.arange(int(10 * fs)) / fs
    y = predict.resample(np.sin(2 * np.pi * 5 * t), fs, 360.0)
    assert len(y) == 3600
    spectrum = np.abs(np.fft.rfft(y))
    assert np.argmax(spectrum) == 50  # 5 Hz over 10 s
    np.testing.assert_array_equal(predict.resample(t, 360.0, 360.0), t)  # same rate: unchanged


def test_export_styles_read_back(tmp_path):
    predict.export_csv(WAVE, 360, tmp_path / "p.csv", lead="MLII")
    predict.export_csv(WAVE, 360, tmp_path / "s.csv", style="single")
    for name in ("p.csv", "s.csv"):  # the single column states no rate
        ecg = predict.read_ecg(tmp_path / name, fs=360)
        np.testing.assert_allclose(ecg.signal, WAVE, atol=1e-3)
    assert (
        (tmp_path / "p.csv").read_text().startswith("'Elapsed time','MLII'\n'hh:mm:ss.mmm','mV'\n")
    )
    with pytest.raises(ValueError, match="style"):
        predict.export_csv(WAVE, 360, tmp_path / "x.csv", style="excel")


def test_cli_bad_input_is_one_line(tmp_path, capsys):
    path = write(tmp_path / "bad.csv", " Sample Value\n0.1\nabc\n")
    assert main(["predict", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: bad.csv, line 3") and "Traceback" not in err
    assert main(["predict", str(tmp_path / "missing.csv")]) == 1
    assert "No file" in capsys.readouterr().err


# ---- with a model -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def quick_model(mitdb_ready, tmp_path_factory):
    """A model shipped from the quick profile into a temporary folder (trains in a minute)."""
    out = tmp_path_factory.mktemp("model") / "model"
    from ecgutils.deploy.release import ship_model

    return ship_model("quick", out, verbose=0)


def record_csv(folder: Path, name: str = "100", seconds: float = 60.0, fs_out: float = 360.0):
    from ecgutils.data import load_record

    rec = load_record(name)
    x = rec.signal[: int(seconds * rec.fs)]
    x = predict.resample(x, rec.fs, fs_out)
    path = folder / f"{name}-{int(fs_out)}.csv"
    predict.export_csv(x, fs_out, path, lead=rec.lead)
    return path, rec


@pytest.mark.integration
def test_ship_model_writes_model_and_card(quick_model):
    card = quick_model.card
    assert card["classes"] == ["N", "L", "R", "A", "V", "/", "E", "!"] and card["fs"] == 360
    assert set(card["measured"]) == {
        "seen patients (beat-level hold-out, as in the paper)",
        "new patients (same configuration trained DS1 -> DS2)",
    }
    text = (quick_model.path / "MODEL_CARD.md").read_text()
    assert "Not a medical device" in text and card["training data"]["data fingerprint"] in text
    assert not [p for p in quick_model.path.parent.iterdir() if p.name.startswith(".")]


@pytest.mark.integration
def test_predictions_match_the_reference_beats(quick_model, tmp_path):
    path, rec = record_csv(tmp_path)
    pred = predict.classify_file(path, model=quick_model)
    ref = rec.beats.sample[rec.beats.sample < 60 * 360]
    assert abs(len(pred.beats) - len(ref)) <= 3
    assert list(pred.beats.columns) == [
        "beat",
        "start",
        "end",
        "r",
        "class",
        "label",
        "probability",
        "edge",
        "paced window",
    ]
    assert (pred.beats["start"] < pred.beats["r"]).all() and (
        pred.beats["r"] < pred.beats["end"]
    ).all()
    agree = predict.agreement(pred, rec)
    assert agree["matched"] >= len(ref) - 3 and agree["agreement"] > 0.9
    assert pred.summary["beats"].sum() == len(pred.beats)
    assert pred.lines()[0].startswith("beat 1 from sample ")


@pytest.mark.integration
def test_other_sampling_rates_map_back_to_the_input_samples(quick_model, tmp_path):
    path360, _ = record_csv(tmp_path, seconds=30)
    path250, _ = record_csv(tmp_path, seconds=30, fs_out=250)
    a = predict.classify_file(path360, model=quick_model).beats
    b = predict.classify_file(path250, fs=250, model=quick_model).beats
    assert abs(len(a) - len(b)) <= 1
    n = min(len(a), len(b))
    r360 = a["r"].to_numpy()[:n] * 250 / 360
    assert np.median(np.abs(b["r"].to_numpy()[:n] - r360)) <= 2  # samples at 250 Hz


@pytest.mark.integration
def test_cli_predict_table_and_json_agree(quick_model, tmp_path, capsys):
    path, _ = record_csv(tmp_path, seconds=20)
    assert main(["predict", str(path), "--model", str(quick_model.path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    direct = predict.classify_file(path, model=quick_model)
    assert [b["class"] for b in out["beats"]] == direct.beats["class"].tolist()
    assert out["lead"] == "MLII" and out["fs"] == 360
    assert main(["predict", str(path), "--model", str(quick_model.path)]) == 0
    text = capsys.readouterr().out
    assert f"{len(direct.beats)} beats" in text and "beat 1 from sample" in text
    # every answer says which model gave it
    assert out["model"] == direct.model == predict.model_line(quick_model)
    assert text.startswith(f"Model: {direct.model}\n")


def test_model_line_names_the_model_and_its_new_patient_figure(tmp_path):
    card = {"model": "compact CNN", "classes": ["N", "V"], "scheme": "aami"}
    other = predict.DeployedModel(None, card, tmp_path)
    assert predict.model_line(other) == (
        f"compact CNN ({tmp_path}; 2 classes, aami); on new patients: not measured (see its card)"
    )
    card["measured"] = {"new patients (DS1 -> DS2)": {"accuracy": 91.234, "macro sensitivity": 80}}
    shipped = predict.DeployedModel(None, card, predict.MODEL_DIR)
    assert predict.model_line(shipped) == (
        "compact CNN (shipped 'cnn8'; 2 classes, aami); on new patients: 91.23% accuracy, "
        "macro sensitivity 80.00%"
    )


@pytest.fixture(scope="session")
def quick_trees(mitdb_ready, tmp_path_factory):
    """The trees recipe shipped from the quick profile into a temporary folder (seconds)."""
    from ecgutils.deploy.release import ship_trees

    return ship_trees("quick", tmp_path_factory.mktemp("trees") / "trees")


@pytest.mark.integration
def test_ship_trees_writes_trees_and_card(quick_trees):
    card = quick_trees.card
    assert quick_trees.kind == "trees" and card["classes"] == ["N", "S", "V", "F", "Q"]
    assert list(card["measured"]) == [
        "new patients (same recipe trained DS1 -> DS2, EC57)",
        "new patients, self-trained on each record's unlabelled beats (DS1 -> DS2, EC57)",
    ]
    assert card["training data"]["records"] == 3 and card["training data"]["beats"]["Q"] == 0
    text = (quick_trees.path / "MODEL_CARD.md").read_text()
    assert "(`trees`)" in text and "Not a medical device" in text and "DS1" in text
    assert "--self-train" in text and "self-trained on each record" in text
    plain, adapted = (f["accuracy"] for f in card["measured"].values())
    assert f"on new patients: {plain:.2f}%" in predict.model_line(quick_trees)
    line = predict.model_line(quick_trees, self_trained=True)
    assert "self-trained on this recording" in line and f"new patients: {adapted:.2f}%" in line
    # the training sample it carries: every training beat's class, at most the cap of each
    st = card["self-training"]
    with np.load(quick_trees.path / predict.SELF_TRAINING_FILE) as z:
        y, stands = z["labels"], z["stands_for"]
        assert z["features"].dtype == np.float16 and len(y) == st["training beats"]
    beats = card["training data"]["beats"]
    for k, c in enumerate(card["classes"]):
        assert (y == k).sum() == min(beats[c], st["sample cap"])
        assert stands[y == k].sum() == pytest.approx(beats[c], rel=1e-6)
    assert predict.has_self_training(quick_trees)


@pytest.mark.integration
def test_the_trees_self_train_on_a_recording_on_request(quick_trees, tmp_path, capsys):
    path, rec = record_csv(tmp_path, name="207", seconds=120)
    plain = predict.classify_file(path, model=quick_trees)
    pred = predict.classify_file(path, model=quick_trees, self_train=True)
    assert "self-train" in pred.seconds and "self-train" not in plain.seconds
    # the same beats, classified again after the recording's confident beats taught the trees
    cols = ["beat", "start", "end", "r", "edge"]
    pd.testing.assert_frame_equal(pred.beats[cols], plain.beats[cols])
    assert set(pred.beats["class"]) <= set("NSVFQ")
    assert predict.agreement(pred, rec)["agreement"] > 0.9
    assert "self-trained on this recording" in pred.model
    args = ["predict", str(path), "--model", str(quick_trees.path), "--self-train", "--json"]
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert [b["class"] for b in out["beats"]] == pred.beats["class"].tolist()
    # a model without the training sample says so, and what to do
    bare = tmp_path / "bare"
    shutil.copytree(quick_trees.path, bare)
    (bare / predict.SELF_TRAINING_FILE).unlink()
    assert main(["predict", str(path), "--model", str(bare), "--self-train"]) == 1
    _one_line_error(capsys, "cannot self-train", "leave out --self-train")


@pytest.mark.integration
def test_the_trees_classify_a_record_and_a_strip(quick_trees, tmp_path, capsys):
    path, rec = record_csv(tmp_path, name="207", seconds=120)
    pred = predict.classify_file(path, model=quick_trees)
    assert set(pred.beats["class"]) <= set("NSVFQ") and pred.summary.attrs["scheme"] == "aami5"
    agree = predict.agreement(pred, rec)
    # 207 was seen in training; its flutter waves (labelled beats) are partly missed by design
    assert agree["matched"] >= 0.95 * agree["reference"] and agree["agreement"] > 0.9
    n = len(rec.signal[: 120 * 360])
    beats = pred.beats
    assert ((beats["start"] < beats["r"]) & (beats["r"] < beats["end"])).all()
    # a window is cut short only where the recording ends
    np.testing.assert_array_equal(beats["edge"], (beats["start"] == 0) | (beats["end"] == n))
    assert main(["predict", str(path), "--model", str(quick_trees.path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [b["class"] for b in out["beats"]] == beats["class"].tolist()
    assert out["model"] == pred.model and pred.model.startswith("gradient-boosted trees")


def test_a_broken_trees_card_is_one_line(tmp_path, capsys):
    folder = tmp_path / "trees"
    folder.mkdir()
    (folder / "card.json").write_text(json.dumps({"kind": "trees", "classes": ["N"]}))
    (folder / "trees.pkl").write_bytes(b"not a pickle")
    assert main(["predict", str(_strip(tmp_path)), "--model", str(folder)]) == 1
    _one_line_error(capsys, "lacks rule, window_s", "ship-model --kind trees")
    card = {k: 1 for k in predict.TREES_CARD_KEYS} | {"kind": "trees"}
    (folder / "card.json").write_text(json.dumps(card))
    assert main(["predict", str(_strip(tmp_path)), "--model", str(folder)]) == 1
    _one_line_error(capsys, "Cannot load", "ship-model --kind trees")
    assert main(["predict", str(_strip(tmp_path)), "--model", "cnn9"]) == 1
    _one_line_error(capsys, "No model named 'cnn9': choose trees or cnn8")


@pytest.mark.integration
def test_the_shipped_trees_agree_with_their_card(mitdb_ready, tmp_path):
    model = predict.load_deployed_model()  # the default
    assert model.name == predict.DEFAULT_MODEL == "trees" and model.kind == "trees"
    assert (predict.TREES_DIR / "trees.pkl").stat().st_size <= 20 * 2**20
    card = model.card
    assert card["training data"]["profile"] == "standard" and card["training data"]["records"] == 48
    path, rec = record_csv(tmp_path, seconds=300)
    agree = predict.agreement(predict.classify_file(path, model=model), rec)
    figure = card["measured"]["new patients (same recipe trained DS1 -> DS2, EC57)"]
    # record 100 is among the 48 records the shipped trees learned from: at least the figure of
    # the same recipe on patients it never saw, within the noise of 5 minutes of beat detection
    assert 100 * agree["agreement"] >= figure["accuracy"] - 2.0


@pytest.mark.integration
def test_the_shipped_model_agrees_with_its_card(mitdb_ready, tmp_path):
    model = predict.load_deployed_model("cnn8")
    assert model.name == "cnn8" and model.kind == "cnn"
    assert (predict.MODEL_DIR / "model.keras").stat().st_size <= 5 * 2**20
    card = model.card
    assert card["training data"]["profile"] == "standard" and card["image_size"] == 48
    path, rec = record_csv(tmp_path, seconds=300)
    pred = predict.classify_file(path, model=model)
    agree = predict.agreement(pred, rec)
    seen = card["measured"]["seen patients (beat-level hold-out, as in the paper)"]["accuracy"]
    # record 100 is MIT-BIH: its patient was seen in training (80% of beats), so the seen figure
    # applies, within the noise of 5 minutes (about 370 beats) and of beat detection
    assert 100 * agree["agreement"] >= seen - 2.0


def test_model_folder_missing_says_how_to_make_one(tmp_path):
    with pytest.raises(FileNotFoundError, match="ship-model"):
        predict.load_deployed_model(tmp_path)
    assert os.listdir(tmp_path) == []


@pytest.mark.integration
@pytest.mark.parametrize("record, start_s", [("100", 60), ("208", 600), ("201", 1200)])
def test_a_ten_second_strip_gets_a_class_for_every_beat(mitdb_ready, tmp_path, record, start_s):
    """What an ECG printout holds: every beat in it classified, the two at the ends flagged."""
    from ecgutils.data import load_record
    from ecgutils.segment import match_to_reference

    rec = load_record(record)
    a, b = int(start_s * rec.fs), int((start_s + 10) * rec.fs)
    path = tmp_path / f"{record}-strip.csv"
    predict.export_csv(rec.signal[a:b], rec.fs, path, lead=rec.lead)
    pred = predict.classify_file(path)
    ref = rec.beats.sample[
        (rec.beats.sample >= a + 0.1 * rec.fs) & (rec.beats.sample < b - 0.1 * rec.fs)
    ]
    found = match_to_reference(ref - a, pred.beats["r"].to_numpy(), rec.fs) >= 0
    assert found.all(), f"{int((~found).sum())} of {len(ref)} beats without a class"
    assert len(pred.beats) <= len(ref) + 2
    edge = pred.beats["edge"].to_numpy()
    assert not edge[1:-1].any()
    # the trees' fixed window is cut short only where the strip ends ...
    n = b - a
    np.testing.assert_array_equal(edge, (pred.beats["start"] == 0) | (pred.beats["end"] == n))
    # ... the 8-class CNN's window always needs a neighbour the strip lacks
    pred8 = predict.classify_file(path, model=predict.load_deployed_model("cnn8"))
    assert len(pred8.beats) == len(pred.beats) and pred8.beats["edge"].to_numpy()[[0, -1]].all()
    assert "[at the edge of the recording: cut short]" in pred8.lines()[0]


def test_two_beats_are_not_enough():
    from conftest import FS

    x = np.zeros(int(3 * FS))
    t = np.arange(len(x))
    for s in (400, 700):  # two QRS-like spikes in three seconds
        x += 1.2 * np.exp(-0.5 * ((t - s) / 4.0) ** 2)
    ecg = predict.ecg_from_array(x, FS, lead="MLII")
    with pytest.raises(ValueError, match="at least 3 are needed"):
        predict.predict_ecg(ecg)


def test_prediction_does_not_import_training():
    """Deployment builds a beat's network inputs with the same function as training
    (ecgutils.dataset.network_inputs), without importing the training modules."""
    import subprocess
    import sys

    code = (
        "import sys, ecgutils.deploy.predict; "
        "print(sorted(m for m in sys.modules if m == 'ecgutils.train' or 'research' in m))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    from ecgutils.deploy import models

    source = Path(predict.__file__).read_text() + Path(models.__file__).read_text()
    assert "from .train" not in source and "research" not in source
    assert "network_inputs" in Path(models.__file__).read_text()


#: Deployment's answers on the first 10 minutes of records 208 and 232 (MLII), each shipped model
#: and the trees self-trained, recorded with the code of commit 1071d1e (before the package was
#: reorganised); every later deployment must give the same answer to the beat. The trees' rows
#: were recorded again when the trees were re-shipped with turned-over records (issue 31, after
#: 98a1b5f): ``python tests/test_predict.py --record trees "trees, self-trained"``.
RECORDED_ANSWERS = Path(__file__).parent / "data" / "recorded_answers.csv.gz"
RECORDED_MODELS = ("trees", "trees, self-trained", "cnn8")


def deployment_answers(model: str) -> pd.DataFrame:
    """Deployment's beats on the first 10 minutes of records 208 and 232 with ``model``."""
    from ecgutils.data import fetch, load_record

    fetch(["208", "232"], progress=False)
    deployed = predict.load_deployed_model(model.split(",")[0])
    tables = []
    for name in ("208", "232"):
        x = load_record(name, warn=False).signal[: 10 * 60 * 360]
        beats = predict.predict_ecg(
            predict.ecg_from_array(x, 360.0, lead="MLII"), deployed,
            self_train=model.endswith("self-trained"),
        ).beats  # fmt: skip
        tables.append(beats.assign(model=model, record=name))
    return pd.concat(tables, ignore_index=True)


def record_answers(models: list[str]) -> None:
    """Record ``models``' answers again (after a deliberate change of a shipped model)."""
    recorded = pd.read_csv(RECORDED_ANSWERS, dtype={"record": str})
    columns = list(recorded.columns)
    kept = recorded[~recorded["model"].isin(models)]
    new = [deployment_answers(m)[columns] for m in models]
    table = pd.concat([kept, *new], ignore_index=True)
    table["probability"] = table["probability"].round(4)
    order = {m: i for i, m in enumerate(RECORDED_MODELS)}
    table = table.sort_values("model", key=lambda m: m.map(order), kind="stable")
    table.to_csv(RECORDED_ANSWERS, index=False)


@pytest.mark.integration
@pytest.mark.parametrize("model", RECORDED_MODELS)
def test_deployment_gives_the_recorded_answers_beat_by_beat(model, mitdb_ready):
    recorded = pd.read_csv(RECORDED_ANSWERS, dtype={"record": str})
    recorded = recorded[recorded["model"] == model]
    deployed = deployment_answers(model)
    for name, want in recorded.groupby("record"):
        got = deployed[deployed["record"] == name].reset_index(drop=True)
        want = want.drop(columns=["model", "record"]).reset_index(drop=True)
        assert len(got) == len(want), f"record {name}: {len(got)} beats, recorded {len(want)}"
        for column in ("beat", "start", "end", "r", "class", "label", "edge"):
            np.testing.assert_array_equal(got[column].to_numpy(), want[column].to_numpy(), column)
        np.testing.assert_allclose(got["probability"], want["probability"], atol=1e-4)


if __name__ == "__main__":
    import sys

    if sys.argv[1:2] != ["--record"] or not set(sys.argv[2:]) <= set(RECORDED_MODELS):
        sys.exit(f"usage: python tests/test_predict.py --record MODEL... (of {RECORDED_MODELS})")
    record_answers(sys.argv[2:])
