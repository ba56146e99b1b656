"""Shared fixtures: small synthetic WFDB records, and access to the real MIT-BIH files."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib
import numpy as np
import pytest
import wfdb

matplotlib.use("Agg")
# The tests score parts of DS2 with made-up models: none of it belongs in the shipped DS2 ledger
# (tests of the ledger give it a file of their own).
os.environ["ECG_DS2_LEDGER"] = "off"

FS = 360
#: Beats of the synthetic record: (sample, symbol). '!' counts as a beat, 'x' does not.
SYN_BEATS = [
    (180, "N"),
    (470, "N"),
    (760, "V"),
    (1050, "A"),
    (1340, "N"),
    (1630, "!"),
    (1920, "f"),
    (2210, "N"),
]
#: Non-beat marks: (sample, symbol, aux_note).
SYN_MARKS = [(10, "+", "(N"), (1200, "~", ""), (1500, "x", ""), (2000, '"', "a comment")]


def synthetic_wave(n: int = 2400) -> np.ndarray:
    """(n,) float64, mV: the first lead of the synthetic record (lead i is (i + 1) times it)."""
    t = np.arange(n)
    x = 0.05 * np.sin(2 * np.pi * t / FS * 0.3)  # slow baseline wander, mV
    for s, _ in SYN_BEATS:
        x += 1.2 * np.exp(-0.5 * ((t - s) / 4.0) ** 2)  # narrow QRS-like spike, mV
    return x


def write_record(folder: Path, name: str, leads: tuple[str, ...]) -> Path:
    """Write a 2,400-sample, 360 Hz WFDB record with SYN_BEATS and SYN_MARKS; return its path."""
    n = 2400
    base = synthetic_wave(n)
    signals = np.column_stack([base * (i + 1) for i in range(len(leads))])
    wfdb.wrsamp(
        name,
        fs=FS,
        units=["mV"] * len(leads),
        sig_name=list(leads),
        p_signal=signals,
        fmt=["212"] * len(leads),
        adc_gain=[200.0] * len(leads),
        baseline=[0] * len(leads),
        write_dir=str(folder),
        comments=["69 M", "synthetic"],
    )
    anns = sorted([(s, sym, "") for s, sym in SYN_BEATS] + SYN_MARKS)
    wfdb.wrann(
        name,
        "atr",
        np.array([a[0] for a in anns]),
        [a[1] for a in anns],
        aux_note=[a[2] for a in anns],
        write_dir=str(folder),
    )
    return folder / name


@pytest.fixture
def synthetic_record(tmp_path: Path) -> Path:
    """Path (without extension) of a synthetic record whose second lead is MLII."""
    return write_record(tmp_path, "syn", ("V5", "MLII"))


@pytest.fixture(scope="session")
def mitdb_ready() -> Path:
    """Make sure the quick profile's records are in data/mitdb; skip if no way to get them.

    Skips only when neither $MITDB_SOURCE nor PhysioNet can provide the files; with a source
    set (as in CI), any failure is a real failure.
    """
    from ecgutils.config import get_profile, mitdb_dir
    from ecgutils.data import MitdbUnavailableError, fetch

    try:
        fetch(get_profile("quick").records, progress=False)
    except MitdbUnavailableError as exc:
        if os.environ.get("MITDB_SOURCE"):
            raise
        pytest.skip(f"MIT-BIH not available: {exc}")
    return mitdb_dir()


@pytest.fixture(scope="session")
def tiny(mitdb_ready):
    """A profile for tests of training *plumbing* (caching, ensembles, splits, experiments):
    the quick profile's records (100 from DS2; 107 paced; 207 from DS1) at 16x16, one epoch
    with precise batch norm (as the quick profile).

    Its models share the course's store (``data/``) like every other test's: a second run of
    the suite trains nothing.
    """
    from ecgutils.config import Profile

    return Profile(
        name="tiny",
        description="Tests of training plumbing: the quick records at 16x16, one epoch.",
        records=("100", "107", "207"),
        image_size=16,
        epochs=1,
        precise_bn=True,  # one epoch is too short for batch norm's moving averages
    )


@pytest.fixture(scope="session")
def quick_trained(mitdb_ready):
    """The quick profile's model exactly as notebooks 06, 07, 10 and 11 ask for it
    (``load_or_train("quick")``): trained once into ``data/``, where ``make test``'s notebook
    run finds it."""
    from ecgutils import train

    return train.load_or_train("quick", verbose=0)


#: Test files that take minutes (every named experiment in the quick profile): collected first,
#: so that `pytest -n 2 --dist loadfile` starts them at once and spreads the rest over the
#: other worker meanwhile, instead of leaving them for the end.
SLOW_FIRST = ("tests/research/test_registry.py",)


def pytest_collection_modifyitems(config, items):
    slow = [i for i in items if i.nodeid.startswith(SLOW_FIRST)]
    items[:] = slow + [i for i in items if not i.nodeid.startswith(SLOW_FIRST)]
