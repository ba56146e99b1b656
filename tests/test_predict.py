"""ecgutils.predict: every input format, every bad input, and predictions from a shipped model."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from conftest import synthetic_wave

from ecgutils import predict
from ecgutils.__main__ import main

WAVE = synthetic_wave()  # 2,400 samples at 360 Hz, mV


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def single_column(path: Path, x=WAVE) -> Path:
    return write(path, " Sample Value\n" + "\n".join(f"{v:.4f}" for v in x) + "\n")


def physionet(path: Path, x=WAVE, units=("mV", "mV")) -> Path:
    rows = "\n".join(f"'0:{k / 360:06.3f}',{v:.4f},{-v:.4f}" for k, v in enumerate(x))
    head = f"'Elapsed time','MLII','V5'\n'hh:mm:ss.mmm','{units[0]}','{units[1]}'\n"
    return write(path, head + rows + "\n")


def test_single_column_with_the_original_header(tmp_path):
    ecg = predict.read_ecg(single_column(tmp_path / "sample.csv"))
    assert ecg.lead == "Sample Value" and ecg.fs == 360 and ecg.leads == ["Sample Value"]
    np.testing.assert_allclose(ecg.signal, WAVE, atol=1e-4)


def test_physionet_export_with_units_row_and_lead_choice(tmp_path):
    path = physionet(tmp_path / "export.csv")
    ecg = predict.read_ecg(path)  # MLII by default, the time column skipped
    assert ecg.lead == "MLII" and ecg.leads == ["MLII", "V5"] and len(ecg.signal) == len(WAVE)
    np.testing.assert_allclose(ecg.signal, WAVE, atol=1e-4)
    v5 = predict.read_ecg(path, lead="v5")
    np.testing.assert_allclose(v5.signal, -WAVE, atol=1e-4)
    assert (
        predict.read_ecg(path, lead=1).lead == "V5"
        and predict.read_ecg(path, lead="0").lead == "MLII"
    )


def test_units_row_in_microvolts_and_raw_adc(tmp_path):
    uv = physionet(tmp_path / "uv.csv", WAVE * 1000, units=("uV", "uV"))
    np.testing.assert_allclose(predict.read_ecg(uv).signal, WAVE, atol=1e-4)
    adc = single_column(tmp_path / "adc.csv", np.round(WAVE * 200 + 1024))
    ecg = predict.read_ecg(adc, units="adc", gain=200, baseline=1024)
    np.testing.assert_allclose(ecg.signal, WAVE, atol=0.003)


def test_quoted_numbers_are_numbers(tmp_path):
    path = write(tmp_path / "q.csv", "'MLII'\n" + "\n".join(f"'{v:.4f}'" for v in WAVE) + "\n")
    np.testing.assert_allclose(predict.read_ecg(path).signal, WAVE, atol=1e-4)


def test_headerless_column_and_sampling_rate(tmp_path):
    path = write(tmp_path / "plain.txt", "\n".join(f"{v:.4f}" for v in WAVE) + "\n")
    ecg = predict.read_ecg(path, fs=250)
    assert ecg.lead == "column 1" and ecg.fs == 250 and len(ecg.signal) == len(WAVE)


def test_wfdb_record_takes_its_own_rate(synthetic_record):
    ecg = predict.read_ecg(synthetic_record.with_suffix(".hea"))
    assert ecg.lead == "MLII" and ecg.fs == 360 and ecg.leads == ["V5", "MLII"]
    np.testing.assert_allclose(ecg.signal, 2 * WAVE, atol=0.01)
    assert predict.read_ecg(synthetic_record, lead="V5").lead == "V5"
    with pytest.raises(ValueError, match="sampled at 360 Hz, not 250 Hz"):
        predict.read_ecg(synthetic_record, fs=250)


BAD_INPUTS = {
    "empty file": ("", {}, "is empty"),
    "blank lines": ("\n\n\n", {}, "only blank lines"),
    "no numeric column": ("'Elapsed time'\n'0:00.000'\n'0:00.003'\n", {}, "no column holds an ECG"),
    "text in the data": (" Sample Value\n0.1\n0.2\nabc\n0.3\n", {}, "line 4: 'abc'"),
    "NaN in the data": (" Sample Value\n0.1\nNaN\n0.3\n", {}, "line 3: 'NaN'"),
    "empty cell": ("'t','MLII'\n'0:00',0.1\n'0:01',\n", {}, "line 3: '\\(empty\\)'"),
    "too short": (" Sample Value\n" + "0.1\n0.5\n" * 100, {}, "at least 3 beats"),
    "flat line": (" Sample Value\n" + "0.25\n" * 2000, {}, "flat line"),
    "raw ADC units": (" Sample Value\n" + "".join(f"{1024 + 200 * v:.0f}\n" for v in WAVE), {},
                      "raw ADC units"),
    "absurd rate": (" Sample Value\n" + "0.1\n0.5\n" * 600, {"fs": 5}, "5 Hz is outside"),
    "rate not a number": (" Sample Value\n0.1\n", {"fs": "fast"}, "must be a number"),
    "unknown lead": ("'Elapsed time','MLII'\n'0:00',0.1\n", {"lead": "V1"}, "no lead named 'V1'"),
    "lead index": ("'Elapsed time','MLII'\n'0:00',0.1\n", {"lead": 3}, "index 3 does not exist"),
    "adc without gain": (" Sample Value\n0.1\n", {"units": "adc"}, "need the gain"),
    "unknown units": (" Sample Value\n0.1\n", {"units": "furlongs"}, "Unknown units"),
    "unknown units row": ("'t','MLII'\n'hh:mm','bananas'\n'0:00',0.1\n", {}, "units row says"),
}  # fmt: skip


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_input_gets_a_clear_message(tmp_path, case):
    text, options, message = BAD_INPUTS[case]
    path = write(tmp_path / "bad.csv", text)
    with pytest.raises(ValueError, match=message):
        predict.read_ecg(path, **options)


def test_file_over_the_size_limit_and_missing_file(tmp_path, monkeypatch):
    path = single_column(tmp_path / "big.csv")
    monkeypatch.setattr(predict, "MAX_FILE_BYTES", 1000)
    with pytest.raises(ValueError, match="over the 0 MB limit"):
        predict.read_ecg(path)
    with pytest.raises(ValueError, match="over the"):
        predict.classify_bytes(path.read_bytes(), "big.csv")
    with pytest.raises(FileNotFoundError, match="check the path"):
        predict.read_ecg(tmp_path / "nope.csv")


def test_uploads_leave_no_file_behind(tmp_path, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with pytest.raises(ValueError, match="mine.csv, line 3"):
        predict.classify_bytes(b" Sample Value\n0.1\nx\n", "mine.csv")
    assert list(tmp_path.iterdir()) == []


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
    for name in ("p.csv", "s.csv"):
        np.testing.assert_allclose(predict.read_ecg(tmp_path / name).signal, WAVE, atol=1e-3)
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
    from ecgutils.experiments import ship_model

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


@pytest.mark.integration
def test_the_shipped_model_agrees_with_its_card(mitdb_ready, tmp_path):
    model = predict.load_deployed_model()
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
        "import sys, ecgutils.predict; "
        "print(sorted(m for m in sys.modules if m in ('ecgutils.train', 'ecgutils.experiments')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    source = (Path(predict.__file__)).read_text()
    assert "from .train" not in source and "from .experiments" not in source
    assert "network_inputs" in source
