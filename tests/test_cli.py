"""python -m ecgutils: one clear line on bad input, a summary otherwise."""

from __future__ import annotations

import hashlib

from ecgutils import data
from ecgutils.__main__ import main


def test_fetch_unknown_record_is_one_clear_line(capsys):
    assert main(["fetch", "--records", "999"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: Unknown MIT-BIH record(s): 999") and "Traceback" not in err


def test_fetch_without_network_or_source(capsys, monkeypatch, tmp_path):
    monkeypatch.delenv("MITDB_SOURCE", raising=False)

    def offline(*args, **kwargs):
        raise OSError("no route to host")

    monkeypatch.setattr(data.wfdb, "dl_files", offline)
    assert main(["fetch", "--records", "100", "--dest", str(tmp_path), "--quiet"]) == 1
    assert "export MITDB_SOURCE=" in capsys.readouterr().err


def test_fetch_from_source_then_again(capsys, monkeypatch, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    sums = {}
    for ext in data.RECORD_EXTENSIONS:
        (src / f"100.{ext}").write_bytes(ext.encode() * 10)
        sums[f"100.{ext}"] = hashlib.sha256(ext.encode() * 10).hexdigest()
    monkeypatch.setattr(data, "expected_checksums", lambda: sums)
    args = ["fetch", "--records", "100", "--source", str(src), "--dest", str(tmp_path / "d")]
    assert main([*args, "--quiet"]) == 0
    assert "0 already verified, 3 copied" in capsys.readouterr().out
    assert main([*args, "--quiet"]) == 0
    assert "3 already verified, 0 copied" in capsys.readouterr().out


def test_profile_command(capsys, monkeypatch):
    monkeypatch.setenv("ECG_PROFILE", "quick")
    assert main(["profile"]) == 0
    assert "records (3): 100 107 207" in capsys.readouterr().out
    monkeypatch.setenv("ECG_PROFILE", "nope")
    assert main(["profile"]) == 1
    assert "Unknown profile 'nope'" in capsys.readouterr().err
