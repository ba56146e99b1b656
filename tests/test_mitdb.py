"""Integration: the real MIT-BIH files (from $MITDB_SOURCE or data/mitdb)."""

from __future__ import annotations

import os
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import wfdb

from ecgutils import data
from ecgutils.classes import symbol_map

pytestmark = pytest.mark.integration


def test_record_100_facts(mitdb_ready):
    rec = data.load_record(100)
    assert (rec.name, rec.lead, rec.fs, rec.signal.shape) == ("100", "MLII", 360.0, (650000,))
    assert rec.duration_s == pytest.approx(650000 / 360)  # 30 min 5.6 s
    assert len(rec.beats) == 2273  # MIT-BIH directory: 2,239 N, 33 A, 1 V
    assert Counter(rec.beats.symbol) == {"N": 2239, "A": 33, "V": 1}
    assert rec.marks.symbol[0] == "+" and rec.marks.aux_note[0] == "(N"
    # An R peak stands out of the signal: median MLII at annotated beats well above baseline.
    assert np.median(rec.signal[rec.beats.sample]) - np.median(rec.signal) > 0.5


def test_lead_by_name_even_when_swapped(mitdb_ready):
    rec = data.load_record(114)  # 114 stores V5 first and MLII second
    assert rec.leads == ("V5", "MLII") and rec.lead == "MLII"
    raw = wfdb.rdrecord(str(mitdb_ready / "114"))
    np.testing.assert_array_equal(rec.signal, raw.p_signal[:, 1])


def test_records_without_mlii_fall_back_to_v5(mitdb_ready):
    for name in ("102", "104"):
        with pytest.warns(UserWarning, match=f"Record {name} has no MLII"):
            rec = data.load_record(name)
        assert rec.lead == "V5"


def test_class_counts_match_the_annotation_files(mitdb_ready):
    counts = data.count_classes(None, "paper8")
    assert counts.shape == (48, 8)
    direct = Counter()
    for name in data.MITDB_RECORDS:
        direct.update(wfdb.rdann(str(mitdb_ready / name), "atr").symbol)
    m = symbol_map("paper8")
    for cls in counts.columns:
        assert counts[cls].sum() == sum(n for s, n in direct.items() if m.get(s) == cls), cls
    assert int(counts.to_numpy().sum()) == 107_668
    aami = data.count_classes(None, "aami5").sum()
    assert aami.to_dict() == {"N": 90631, "S": 2781, "V": 7236, "F": 803, "Q": 8043}


def test_quick_profile_holds_every_paper8_class(mitdb_ready):
    from ecgutils.config import get_profile

    counts = data.count_classes(get_profile("quick").records, "paper8")
    assert (counts.sum() > 0).all(), counts.sum()


@pytest.fixture
def real_source() -> Path:
    src = os.environ.get("MITDB_SOURCE")
    if not src:
        pytest.skip("set MITDB_SOURCE to a copy of MIT-BIH 1.0.0 to test copying from it")
    return Path(src)


def test_fetch_real_files_then_nothing_then_repair(real_source, tmp_path):
    dest = tmp_path / "mitdb"
    first = data.fetch("100", source=real_source, dest=dest, progress=False)
    assert sorted(first.copied) == ["100.atr", "100.dat", "100.hea"]
    second = data.fetch("100", source=real_source, dest=dest, progress=False)
    assert not second.copied and len(second.verified) == 3
    with open(dest / "100.dat", "r+b") as f:  # flip one byte in the middle
        f.seek(100_000)
        byte = f.read(1)
        f.seek(100_000)
        f.write(bytes([byte[0] ^ 0xFF]))
    third = data.fetch("100", source=real_source, dest=dest, progress=False)
    assert third.repaired == ["100.dat"] and third.copied == ["100.dat"]
    assert data.sha256_file(dest / "100.dat") == data.expected_checksums()["100.dat"]


def test_damaged_source_is_reported_not_installed(real_source, tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    for ext in ("hea", "atr"):
        shutil.copy(real_source / f"100.{ext}", bad)
    (bad / "100.dat").write_bytes((real_source / "100.dat").read_bytes()[:5000])  # truncated
    with pytest.raises(data.ChecksumError, match="100.dat from .* expected SHA-256 b2ea3c25"):
        data.fetch("100", source=bad, dest=tmp_path / "dest", progress=False)
    assert not (tmp_path / "dest" / "100.dat").exists()
