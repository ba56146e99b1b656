"""ecgutils.deploy.ecgfile: every file format the deployed tool reads, each against a known answer
(the synthetic wave it was written from, its rate and its lead), and every bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import synthetic_wave

from ecgutils.deploy import ecgfile, predict
from ecgutils.deploy.recording import read_ecg

WAVE = synthetic_wave()  # 2,400 samples at 360 Hz, mV


def write(path: Path, text: str | bytes) -> Path:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def single_column(path: Path, x=WAVE) -> Path:
    return write(path, " Sample Value\n" + "\n".join(f"{v:.4f}" for v in x) + "\n")


def physionet(path: Path, x=WAVE, units=("mV", "mV"), fs=360) -> Path:
    stamps = [f"'{int(k / fs // 60)}:{k / fs % 60:06.3f}'" for k in range(len(x))]
    rows = "\n".join(f"{s},{v:.4f},{-v:.4f}" for s, v in zip(stamps, x))
    head = f"'Elapsed time','MLII','V5'\n'hh:mm:ss.mmm','{units[0]}','{units[1]}'\n"
    return write(path, head + rows + "\n")


def lines(fmt, x=WAVE, **kw) -> str:
    return "\n".join(fmt.format(v=v, k=k, neg=-v, **kw) for k, v in enumerate(x)) + "\n"


def check(ecg, *, fs, lead="MLII", source="given", x=WAVE, atol=1e-4):
    assert (ecg.fs, ecg.lead, ecg.fs_source) == (fs, lead, source)
    assert len(ecg.signal) == len(x)
    np.testing.assert_allclose(ecg.signal, x, atol=atol)


# --------------------------------------------------------------------------------------------
# Where the rate comes from


def test_a_file_that_does_not_state_its_rate_needs_one(tmp_path):
    path = single_column(tmp_path / "sample.csv")
    with pytest.raises(ValueError, match="does not state its sampling rate.*--fs 360"):
        read_ecg(path)
    check(read_ecg(path, fs=360), fs=360, lead="Sample Value")


def test_physionet_export_at_250_hz_states_its_rate(tmp_path):
    path = physionet(tmp_path / "export.csv", fs=250)
    check(read_ecg(path), fs=250, source="time column")
    check(read_ecg(path, fs=250), fs=250, source="time column")
    with pytest.raises(ValueError, match="sampled at 250 Hz \\(its time column\\), not 360 Hz"):
        read_ecg(path, fs=360)


def test_thirty_minutes_of_clock_stamps_rounded_to_milliseconds(tmp_path):
    """650,000 stamps at 360 Hz written to the millisecond (h:mm:ss.mmm): exactly 360 Hz."""
    n = 650_000
    t = np.arange(n) / 360
    x = np.tile(WAVE, n // len(WAVE) + 1)[:n]
    stamps = [f"'{int(s // 3600)}:{int(s % 3600 // 60):02d}:{s % 60:06.3f}'" for s in t]
    body = "\n".join(f"{a},{v:.3f}" for a, v in zip(stamps, x))
    path = write(tmp_path / "long.csv", "'Elapsed time','MLII'\n'hh:mm:ss.mmm','mV'\n" + body)
    check(read_ecg(path), fs=360, source="time column", x=x, atol=1e-3)


@pytest.mark.parametrize(
    "header, scale, fs",
    [("time (s)", 1 / 500, 500), ("time_ms", 4, 250), ("Time", 1 / 128, 128), ("t", 1e-3, 1000)],
)
def test_numeric_time_columns_in_seconds_or_milliseconds(tmp_path, header, scale, fs):
    body = "\n".join(f"{k * scale:.4f},{v:.4f}" for k, v in enumerate(WAVE))
    path = write(tmp_path / "t.csv", f"{header},MLII\n{body}\n")
    check(read_ecg(path), fs=fs, source="time column")


def test_time_counting_samples_without_a_unit_is_asked(tmp_path):
    path = write(tmp_path / "t.csv", "time,MLII\n" + lines("{k},{v:.4f}"))
    with pytest.raises(ValueError, match="counts 0, 1, 2.*milliseconds.*sample numbers"):
        read_ecg(path)
    check(read_ecg(path, fs=360), fs=360)


def test_rate_in_a_comment_line(tmp_path):
    path = write(
        tmp_path / "c.csv", "# Device X\n# Sampling rate: 500 Hz\nMLII\n" + lines("{v:.4f}")
    )
    check(read_ecg(path), fs=500, source="comment line")
    with pytest.raises(ValueError, match="500 Hz \\(its comment line\\), not 360 Hz"):
        read_ecg(path, fs=360)


def test_uneven_time_column_is_refused(tmp_path):
    t = np.arange(len(WAVE)) / 360
    t[100:] += 1.0  # a one-second gap
    body = "\n".join(f"{a:.4f},{v:.4f}" for a, v in zip(t, WAVE))
    path = write(tmp_path / "gap.csv", f"time (s),MLII\n{body}\n")
    with pytest.raises(ValueError, match="not evenly spaced"):
        read_ecg(path)


def test_wfdb_record_takes_its_own_rate(synthetic_record):
    ecg = read_ecg(synthetic_record.with_suffix(".hea"))
    assert (ecg.lead, ecg.fs, ecg.leads, ecg.fs_source) == ("MLII", 360, ["V5", "MLII"],
                                                           "WFDB header")  # fmt: skip
    np.testing.assert_allclose(ecg.signal, 2 * WAVE, atol=0.01)
    assert read_ecg(synthetic_record, lead="V5").lead == "V5"
    with pytest.raises(ValueError, match="sampled at 360 Hz \\(its WFDB header\\), not 250 Hz"):
        read_ecg(synthetic_record, fs=250)


# --------------------------------------------------------------------------------------------
# Separators, decimal marks and encodings


def test_physionet_export_with_units_row_and_lead_choice(tmp_path):
    path = physionet(tmp_path / "export.csv")
    ecg = read_ecg(path)  # MLII by default, the time column skipped
    check(ecg, fs=360, source="time column")
    assert ecg.leads == ["MLII", "V5"] and ecg.encoding == "UTF-8"
    np.testing.assert_allclose(read_ecg(path, lead="v5").signal, -WAVE, atol=1e-4)
    assert read_ecg(path, lead=1).lead == "V5"
    assert read_ecg(path, lead="0").lead == "MLII"


def test_semicolons_with_decimal_commas(tmp_path):
    text = "MLII;V5\n" + lines("{v:.4f};{neg:.4f}").replace(".", ",")
    check(read_ecg(write(tmp_path / "s.csv", text), fs=360), fs=360)


def test_tabs_with_decimal_commas_and_a_time_column(tmp_path):
    body = "\n".join(f"{k / 250:.4f}\t{v:.4f}" for k, v in enumerate(WAVE)).replace(".", ",")
    path = write(tmp_path / "t.tsv", f"Zeit (s)\tMLII\n{body}\n")
    check(read_ecg(path, lead="MLII"), fs=250, source="time column")


def test_one_column_with_decimal_commas(tmp_path):
    with_header = write(tmp_path / "h.csv", "MLII\n" + lines("{v:.4f}").replace(".", ","))
    check(read_ecg(with_header, fs=360), fs=360)
    # without a header, 0,0345 can only be a decimal comma
    plain = write(tmp_path / "p.csv", lines("{v:.4f}").replace(".", ","))
    check(read_ecg(plain, fs=360), fs=360, lead="column 1")


def test_two_whole_numbers_per_row_are_asked_about(tmp_path):
    x = np.round(WAVE * 10) / 10  # 0,3 -> one decimal: the same as two integer columns
    path = write(tmp_path / "a.csv", "\n".join(f"{v:.1f}".replace(".", ",") for v in x) + "\n")
    with pytest.raises(ValueError, match="--decimal comma.*--decimal point"):
        read_ecg(path, fs=360)
    check(read_ecg(path, fs=360, decimal="comma"), fs=360, lead="column 1", x=x)
    two = read_ecg(path, fs=360, decimal="point")
    assert two.leads == ["column 1", "column 2"]


def test_spaces_between_columns_and_a_headerless_time_column(tmp_path):
    body = "\n".join(f"  {k / 360:.4f}   {v:.4f}  {-v:.4f}" for k, v in enumerate(WAVE))
    path = write(tmp_path / "s.txt", body + "\n")
    ecg = read_ecg(path)
    check(ecg, fs=360, lead="column 2", source="time column")
    assert ecg.leads == ["column 2", "column 3"]


def test_utf8_byte_order_mark_keeps_the_first_lead_name(tmp_path):
    path = write(tmp_path / "b.csv", "\ufeffMLII,V5\n" + lines("{v:.4f},{neg:.4f}"))
    ecg = read_ecg(path, lead="MLII", fs=360)
    check(ecg, fs=360)
    assert ecg.encoding == "UTF-8 with BOM"


def test_latin1_with_microvolts_in_the_lead_name(tmp_path):
    text = "ECG (µV)\n" + "\n".join(f"{1000 * v:.1f}" for v in WAVE) + "\n"
    ecg = read_ecg(write(tmp_path / "l.csv", text.encode("latin-1")), fs=360)
    check(ecg, fs=360, lead="ECG")
    assert ecg.encoding == "Latin-1"


def test_utf16_with_its_mark_and_without(tmp_path):
    text = "MLII\n" + lines("{v:.4f}")
    check(read_ecg(write(tmp_path / "u.csv", text.encode("utf-16")), fs=360), fs=360)
    with pytest.raises(ValueError, match="NUL bytes.*save it as UTF-8"):
        read_ecg(write(tmp_path / "n.csv", text.encode("utf-16-le")), fs=360)


def test_sample_number_columns_and_raw_adc(tmp_path):
    text = "sample #,MLII,V5\n" + "\n".join(
        f"{k},{round(200 * v + 1024)},{round(1024 - 200 * v)}" for k, v in enumerate(WAVE)
    )  # fmt: skip
    ecg = read_ecg(write(tmp_path / "a.csv", text), fs=360, units="adc", gain=200,
                           baseline=1024)  # fmt: skip
    check(ecg, fs=360, atol=0.003)
    assert ecg.leads == ["MLII", "V5"]


def test_units_row_in_microvolts_and_raw_adc(tmp_path):
    uv = physionet(tmp_path / "uv.csv", WAVE * 1000, units=("uV", "uV"))
    check(read_ecg(uv), fs=360, source="time column")
    adc = single_column(tmp_path / "adc.csv", np.round(WAVE * 200 + 1024))
    ecg = read_ecg(adc, fs=360, units="adc", gain=200, baseline=1024)
    np.testing.assert_allclose(ecg.signal, WAVE, atol=0.003)


def test_quoted_numbers_are_numbers(tmp_path):
    path = write(tmp_path / "q.csv", "'MLII'\n" + lines("'{v:.4f}'"))
    check(read_ecg(path, fs=360), fs=360)


# --------------------------------------------------------------------------------------------
# Bad input

BAD_INPUTS = {
    "empty file": ("", {}, "is empty"),
    "blank lines": ("\n\n\n", {}, "only blank or comment lines"),
    "no numeric column": ("'Elapsed time'\n'0:00.000'\n'0:00.003'\n", {}, "no column holds an ECG"),
    "text in the data": (" Sample Value\n0.1\n0.2\nabc\n0.3\n", {}, "line 4: 'abc'"),
    "NaN in the data": (" Sample Value\n0.1\nNaN\n0.3\n", {}, "line 3: 'NaN'"),
    "empty cell": ("'t','MLII'\n'0:00',0.1\n'0:01',\n", {}, "line 3: '\\(empty\\)'"),
    "too short": (" Sample Value\n" + "0.1\n0.5\n" * 100, {"fs": 360}, "at least 3 beats"),
    "flat line": (" Sample Value\n" + "0.25\n" * 2000, {"fs": 360}, "flat line"),
    "raw ADC units": (" Sample Value\n" + "".join(f"{1024 + 200 * v:.0f}\n" for v in WAVE),
                      {"fs": 360}, "raw ADC units"),
    "absurd rate": (" Sample Value\n" + "0.1\n0.5\n" * 600, {"fs": 5}, "5 Hz is outside"),
    "rate not a number": (" Sample Value\n0.1\n0.2\n", {"fs": "fast"}, "must be a number"),
    "unknown lead": ("'Elapsed time','MLII'\n'0:00',0.1\n", {"lead": "V1"}, "no lead named 'V1'"),
    "lead index": ("'Elapsed time','MLII'\n'0:00',0.1\n", {"lead": 3}, "index 3 does not exist"),
    "adc without gain": (" Sample Value\n0.1\n0.2\n", {"units": "adc", "fs": 360}, "need the gain"),
    "unknown units": (" Sample Value\n0.1\n0.2\n", {"units": "furlongs", "fs": 360},
                      "Unknown units"),
    "unknown units row": ("'t','MLII'\n'hh:mm','bananas'\n'0:00',0.1\n", {}, "units row says"),
    "ragged rows": ("MLII;V5\n0,1;0,2\n0,3\n0,4;0,5;0,6\n", {}, "different numbers of semicolons"),
    "mixed decimal marks": ("MLII\t\n0,1\t\n0.2\t\n0,3\t\n", {}, "decimal commas and some"),
    "header and fields disagree": ("MLII,V5\n0,1,0,2\n0,3,0,4\n", {}, "header names 2 column"),
    "time that is not a time": ("time,MLII\nnoon,0.1\n1,0.2\n", {}, "'noon' is not a time"),
    "bad delimiter option": (" Sample Value\n0.1\n", {"delimiter": "pipe"}, "not one of comma"),
}  # fmt: skip


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_input_gets_a_clear_message(tmp_path, case):
    text, options, message = BAD_INPUTS[case]
    path = write(tmp_path / "bad.csv", text)
    with pytest.raises(ValueError, match=message):
        read_ecg(path, **options)


def test_file_over_the_size_limit_and_missing_file(tmp_path, monkeypatch):
    path = single_column(tmp_path / "big.csv")
    monkeypatch.setattr(ecgfile, "MAX_FILE_BYTES", 1000)
    with pytest.raises(ValueError, match="over the 0 MB limit"):
        read_ecg(path, fs=360)
    monkeypatch.setattr(predict, "MAX_FILE_BYTES", 1000)
    with pytest.raises(ValueError, match="over the"):
        predict.classify_bytes(path.read_bytes(), "big.csv", fs=360)
    with pytest.raises(FileNotFoundError, match="check the path"):
        read_ecg(tmp_path / "nope.csv")
