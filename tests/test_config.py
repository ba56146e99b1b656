"""ecgutils.config: profiles and folders."""

from __future__ import annotations

import pytest

from ecgutils import classes, config
from ecgutils.config import get_profile


def test_profile_from_environment(monkeypatch):
    monkeypatch.setenv("ECG_PROFILE", "quick")
    assert get_profile().name == "quick"
    monkeypatch.setenv("ECG_PROFILE", "Paper ")
    assert get_profile().name == "paper"
    monkeypatch.delenv("ECG_PROFILE")
    assert get_profile().name == "standard"


def test_explicit_name_wins_over_environment(monkeypatch):
    monkeypatch.setenv("ECG_PROFILE", "paper")
    assert get_profile("quick").name == "quick"


def test_unknown_profile_says_which_exist(monkeypatch):
    monkeypatch.setenv("ECG_PROFILE", "huge")
    with pytest.raises(ValueError, match=r"'huge' \(from \$ECG_PROFILE\).*quick, standard, paper"):
        get_profile()


def test_profiles_use_known_records_and_schemes():
    for p in config.PROFILES.values():
        assert set(p.records) <= set(config.MITDB_RECORDS)
        assert p.scheme in classes.SCHEMES
    assert len(config.MITDB_RECORDS) == len(set(config.MITDB_RECORDS)) == 48
    assert config.PROFILES["standard"].records == config.MITDB_RECORDS
    assert config.PROFILES["paper"].image_size == 128  # the paper's 128 x 128 images


def test_data_dir_override(monkeypatch, tmp_path):
    monkeypatch.setenv("ECG_DATA_DIR", str(tmp_path))
    assert config.mitdb_dir() == tmp_path / "mitdb"
    monkeypatch.delenv("ECG_DATA_DIR")
    assert config.data_dir() == config.project_root() / "data"


def test_inter_patient_protocol_records():
    ds1, ds2, paced = set(config.DS1), set(config.DS2), set(config.PACED_RECORDS)
    assert len(config.DS1) == len(ds1) == 22 and len(config.DS2) == len(ds2) == 22
    assert not ds1 & ds2 and not (ds1 | ds2) & paced
    assert ds1 | ds2 | paced == set(config.MITDB_RECORDS)
    # records 201 and 202 come from one patient: de Chazal keeps them apart (DS1 / DS2)
    assert "201" in ds1 and "202" in ds2
