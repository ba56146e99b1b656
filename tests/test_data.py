"""ecgutils.data on synthetic records and a fake source folder (no network, no MIT-BIH)."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest
import requests
from conftest import FS, SYN_BEATS, SYN_MARKS, synthetic_wave, write_record

from ecgutils import data
from ecgutils.data import ChecksumError, MitdbUnavailableError, fetch, read_record


# ---- reading records -------------------------------------------------------------------------
def test_read_record_picks_mlii_by_name_in_mv(synthetic_record):
    rec = read_record(synthetic_record)
    assert rec.lead == "MLII" and rec.leads == ("V5", "MLII")
    assert rec.fs == FS and rec.signal.shape == (2400,) and rec.signal.dtype == np.float64
    # MLII was written as twice the V5 wave, at 200 ADC units per mV (0.005 mV steps).
    np.testing.assert_allclose(rec.signal, 2 * synthetic_wave(), atol=0.0051)
    assert rec.duration_s == pytest.approx(2400 / FS)
    assert rec.comments == ("69 M", "synthetic")


def test_read_record_separates_beats_from_marks(synthetic_record):
    rec = read_record(synthetic_record)
    assert list(rec.beats.sample) == [s for s, _ in SYN_BEATS]
    assert list(rec.beats.symbol) == [sym for _, sym in SYN_BEATS]
    assert list(rec.marks.symbol) == [m[1] for m in SYN_MARKS]
    assert list(rec.marks.aux_note) == [m[2] for m in SYN_MARKS]


def test_read_record_other_lead_by_name_and_index(synthetic_record):
    v5 = read_record(synthetic_record, "V5")
    by_index = read_record(synthetic_record, 0)
    assert v5.lead == by_index.lead == "V5"
    np.testing.assert_allclose(v5.signal, synthetic_wave(), atol=0.0051)


def test_read_record_without_mlii_falls_back_to_v5_with_warning(tmp_path):
    path = write_record(tmp_path, "nomlii", ("V5", "V2"))
    with pytest.warns(UserWarning, match="no MLII lead.*using V5"):
        rec = read_record(path)
    assert rec.lead == "V5"


def test_read_record_unknown_lead_lists_leads(synthetic_record):
    with pytest.raises(ValueError, match=r"no lead 'V1'; its leads are V5, MLII"):
        read_record(synthetic_record, "V1")
    with pytest.raises(ValueError, match="out of range"):
        read_record(synthetic_record, 5)


def test_beat_labels_follow_scheme(synthetic_record):
    rec = read_record(synthetic_record)
    # N N V A N ! f N -> paper8 indices (N=0, A=3, V=4, !=7); f is not in paper8.
    assert list(rec.beat_labels("paper8")) == [0, 0, 4, 3, 0, 7, -1, 0]
    # aami5: N=0, S=1, V=2, F=3, Q=4; '!' is not in aami5, f is Q.
    assert list(rec.beat_labels("aami5")) == [0, 0, 2, 1, 0, -1, 4, 0]


def test_unknown_record_lists_valid_ones():
    with pytest.raises(ValueError, match=r"Unknown MIT-BIH record\(s\): 999.*100 101 102"):
        data.load_record("999")
    assert data.check_record_names([100, "207", 100]) == ["100", "207"]
    assert len(data.check_record_names(None)) == 48


# ---- fetching, with a fake source folder and its own checksums --------------------------------
def _fake_source(folder: Path, records=("100", "101")) -> dict[str, str]:
    folder.mkdir()
    sums = {}
    for r in records:
        for ext in data.RECORD_EXTENSIONS:
            payload = f"{r}.{ext} content ".encode() * 1000
            (folder / f"{r}.{ext}").write_bytes(payload)
            sums[f"{r}.{ext}"] = hashlib.sha256(payload).hexdigest()
    return sums


def _leftovers(dest: Path) -> list[str]:
    return sorted(p.name for p in dest.iterdir() if p.name.startswith("."))


def test_fetch_copies_then_verifies_without_copying(tmp_path):
    src, dest = tmp_path / "src", tmp_path / "dest"
    sums = _fake_source(src)
    first = fetch(["100", "101"], source=src, dest=dest, checksums=sums, progress=False)
    assert sorted(first.copied) == sorted(sums) and not first.verified
    second = fetch(["100", "101"], source=src, dest=dest, checksums=sums, progress=False)
    assert sorted(second.verified) == sorted(sums) and not second.copied
    assert "6 already verified, 0 copied" in str(second)
    assert not _leftovers(dest)


def test_fetch_only_requested_records_and_extensions(tmp_path):
    src, dest = tmp_path / "src", tmp_path / "dest"
    sums = _fake_source(src)
    fetch("101", source=src, dest=dest, checksums=sums, extensions=("atr",), progress=False)
    assert sorted(p.name for p in dest.iterdir()) == ["101.atr"]
    with pytest.raises(ValueError, match="Unknown file kind"):
        fetch("101", source=src, dest=dest, checksums=sums, extensions=("xyz",))


def test_fetch_repairs_corrupt_and_truncated_files(tmp_path):
    src, dest = tmp_path / "src", tmp_path / "dest"
    sums = _fake_source(src)
    fetch("100", source=src, dest=dest, checksums=sums, progress=False)
    (dest / "100.dat").write_bytes(b"garbage")
    with open(dest / "100.atr", "r+b") as f:
        f.truncate(10)
    report = fetch("100", source=src, dest=dest, checksums=sums, progress=False)
    assert sorted(report.repaired) == ["100.atr", "100.dat"]
    assert (dest / "100.dat").read_bytes() == (src / "100.dat").read_bytes()
    assert data.sha256_file(dest / "100.atr") == sums["100.atr"]


def test_fetch_from_damaged_source_names_file_and_both_checksums(tmp_path):
    src, dest = tmp_path / "src", tmp_path / "dest"
    sums = _fake_source(src)
    (src / "100.dat").write_bytes(b"damaged")
    actual = hashlib.sha256(b"damaged").hexdigest()
    with pytest.raises(ChecksumError) as err:
        fetch("100", source=src, dest=dest, checksums=sums, progress=False)
    msg = str(err.value)
    assert "100.dat" in msg and sums["100.dat"] in msg and actual in msg
    assert not (dest / "100.dat").exists() and not _leftovers(dest)


def test_interrupted_copy_leaves_no_file_under_final_name(tmp_path, monkeypatch):
    src, dest = tmp_path / "src", tmp_path / "dest"
    sums = _fake_source(src)

    def copy_half_then_fail(inp, out, *args):
        out.write(inp.read(100))
        raise OSError("disk unplugged")

    monkeypatch.setattr(shutil, "copyfileobj", copy_half_then_fail)
    with pytest.raises(OSError, match="disk unplugged"):
        fetch("100", source=src, dest=dest, checksums=sums, progress=False)
    assert list(dest.iterdir()) == []


def test_fetch_missing_source_folder_or_file(tmp_path):
    dest = tmp_path / "dest"
    with pytest.raises(FileNotFoundError, match="does not exist.*MITDB_SOURCE"):
        fetch("100", source=tmp_path / "nowhere", dest=dest, progress=False)
    src = tmp_path / "src"
    sums = _fake_source(src, records=("100",))
    sums.update({f"101.{e}": "0" * 64 for e in data.RECORD_EXTENSIONS})
    with pytest.raises(FileNotFoundError, match="101.hea does not exist"):
        fetch(["100", "101"], source=src, dest=dest, checksums=sums, progress=False)


def test_source_from_environment(tmp_path, monkeypatch):
    src, dest = tmp_path / "src", tmp_path / "dest"
    sums = _fake_source(src)
    monkeypatch.setenv("MITDB_SOURCE", str(src))
    report = fetch("100", dest=dest, checksums=sums, progress=False)
    assert len(report.copied) == 3


def test_no_network_and_no_source_says_how_to_set_mitdb_source(tmp_path, monkeypatch):
    monkeypatch.delenv("MITDB_SOURCE", raising=False)

    def offline(*args, **kwargs):
        raise requests.exceptions.ConnectionError("Failed to resolve 'physionet.org'")

    monkeypatch.setattr(data.wfdb, "dl_files", offline)
    dest = tmp_path / "dest"
    with pytest.raises(MitdbUnavailableError, match=r"export MITDB_SOURCE=/path/to/mitdb"):
        fetch("100", dest=dest, progress=False)
    assert list(dest.iterdir()) == []


def test_download_is_verified_and_lands_atomically(tmp_path, monkeypatch):
    monkeypatch.delenv("MITDB_SOURCE", raising=False)
    src, dest = tmp_path / "src", tmp_path / "dest"
    sums = _fake_source(src)
    calls = []

    def fake_dl_files(db, dl_dir, files, keep_subdirs=True, overwrite=False):
        calls.append((db, list(files)))
        for f in files:
            shutil.copy(src / f, Path(dl_dir) / f)

    monkeypatch.setattr(data.wfdb, "dl_files", fake_dl_files)
    report = fetch("100", dest=dest, checksums=sums, progress=False)
    assert calls == [("mitdb", ["100.hea", "100.dat", "100.atr"])]
    assert sorted(report.downloaded) == sorted(n for n in sums if n.startswith("100"))
    assert not _leftovers(dest)

    (src / "100.hea").write_bytes(b"tampered in transit")
    (dest / "100.hea").unlink()
    with pytest.raises(ChecksumError, match="100.hea from PhysioNet"):
        fetch("100", dest=dest, checksums=sums, progress=False)
    assert not (dest / "100.hea").exists() and not _leftovers(dest)


def test_shipped_checksums_cover_every_record_file():
    sums = data.expected_checksums()
    needed = {f"{r}.{e}" for r in data.MITDB_RECORDS for e in data.RECORD_EXTENSIONS}
    assert needed <= set(sums)
    assert all(len(v) == 64 and int(v, 16) >= 0 for v in sums.values())
