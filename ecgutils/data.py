"""MIT-BIH Arrhythmia Database: fetch it, verify it, load records.

The course keeps one verified copy of the database under ``data/mitdb`` (see
:func:`ecgutils.config.mitdb_dir`). :func:`fetch` fills it, either by copying from a local
folder (``--source`` / the ``MITDB_SOURCE`` environment variable) or by downloading from
PhysioNet with wfdb. Every file is checked against PhysioNet's SHA-256 list for release 1.0.0,
which ships inside this package. :func:`load_record` fetches what it needs on first use, so a
notebook never has to.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import os
import shutil
import tempfile
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import wfdb
from tqdm.auto import tqdm

from .classes import BEAT_SYMBOLS, label_symbols, scheme_classes
from .config import MITDB_RECORDS, SOURCE_ENV, mitdb_dir

log = logging.getLogger(__name__)

#: File kinds of one record: header, signals (format 212), reference beat annotations.
RECORD_EXTENSIONS: tuple[str, ...] = ("hea", "dat", "atr")

#: PhysioNet database slug used for downloads.
PHYSIONET_DB = "mitdb"

#: Lead used when a record has no MLII (records 102 and 104, whose leads are V5 and V2).
#: V5 is the other lead of most records and the closest to MLII in QRS shape of the two.
MLII_FALLBACK = "V5"

_CHUNK = 1 << 20


class ChecksumError(ValueError):
    """A file's SHA-256 differs from PhysioNet's published one."""


class MitdbUnavailableError(RuntimeError):
    """MIT-BIH files are missing and neither a local source nor PhysioNet could provide them."""


def expected_checksums() -> dict[str, str]:
    """PhysioNet's SHA-256 of every MIT-BIH 1.0.0 file the course uses, keyed by file name."""
    text = resources.files("ecgutils.resources").joinpath("mitdb-1.0.0.sha256").read_text()
    sums = {}
    for line in text.splitlines():
        if line.strip():
            digest, name = line.split(maxsplit=1)
            sums[name.strip().lstrip("*")] = digest.lower()
    return sums


def sha256_file(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def check_record_names(records: str | int | Iterable[str | int] | None) -> list[str]:
    """Normalise record names (``100``, ``"100"``) and reject unknown ones.

    ``None`` means all 48 records. Raises ``ValueError`` listing the valid names.
    """
    if records is None:
        return list(MITDB_RECORDS)
    if isinstance(records, (str, int)):
        records = [records]
    names = [str(r).strip() for r in records]
    unknown = [n for n in names if n not in MITDB_RECORDS]
    if unknown:
        raise ValueError(
            f"Unknown MIT-BIH record(s): {', '.join(unknown)}. "
            f"Valid records are: {' '.join(MITDB_RECORDS)}."
        )
    return list(dict.fromkeys(names))


@dataclass
class FetchReport:
    """What :func:`fetch` did, file by file (names like ``100.dat``)."""

    verified: list[str] = field(default_factory=list)  # already present and correct
    copied: list[str] = field(default_factory=list)  # copied from a local source
    downloaded: list[str] = field(default_factory=list)  # downloaded from PhysioNet
    repaired: list[str] = field(default_factory=list)  # were present but corrupt, now replaced
    folder: Path | None = None
    records: list[str] = field(default_factory=list)

    @property
    def n_files(self) -> int:
        return len(self.verified) + len(self.copied) + len(self.downloaded)

    def __str__(self) -> str:
        parts = [
            f"{len(self.records)} records, {self.n_files} files OK in {self.folder}",
            f"{len(self.verified)} already verified",
            f"{len(self.copied)} copied",
            f"{len(self.downloaded)} downloaded",
        ]
        if self.repaired:
            parts.append(f"{len(self.repaired)} corrupt and replaced ({', '.join(self.repaired)})")
        return ": ".join(parts[:1]) + ": " + ", ".join(parts[1:])


def _install(tmp: Path, final: Path, expected: str, origin: str) -> None:
    """Verify ``tmp`` and move it onto ``final`` atomically, or delete it and raise."""
    actual = sha256_file(tmp)
    if actual != expected:
        tmp.unlink(missing_ok=True)
        raise ChecksumError(
            f"{final.name} from {origin} fails verification: expected SHA-256 {expected}, "
            f"got {actual}. The source copy is damaged; replace it with PhysioNet's "
            f"mitdb/1.0.0 file."
        )
    os.replace(tmp, final)


def _copy_in(name: str, source: Path, dest: Path, expected: str) -> None:
    src = source / name
    if not src.is_file():
        raise FileNotFoundError(
            f"{src} does not exist: the folder given as source ({source}) must hold the MIT-BIH "
            f"1.0.0 files (100.hea, 100.dat, 100.atr, ...). Point --source or ${SOURCE_ENV} at "
            f"a complete copy."
        )
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=dest)
    try:
        with os.fdopen(fd, "wb") as out, open(src, "rb") as inp:
            shutil.copyfileobj(inp, out, _CHUNK)
        _install(Path(tmp), dest / name, expected, str(source))
    finally:
        Path(tmp).unlink(missing_ok=True)


def _download(names: Sequence[str], dest: Path, sums: dict[str, str]) -> None:
    tmpdir = Path(tempfile.mkdtemp(prefix=".download-", dir=dest))
    try:
        try:
            # wfdb prints progress lines; keep them out of the notebook.
            with contextlib.redirect_stdout(io.StringIO()):
                wfdb.dl_files(PHYSIONET_DB, str(tmpdir), list(names), keep_subdirs=False)
        except Exception as exc:  # requests' ConnectionError, HTTP errors, ...
            raise MitdbUnavailableError(
                f"Could not download {len(names)} MIT-BIH file(s) from PhysioNet ({exc}). "
                f"Without network access, copy the database from a local folder: "
                f"`export {SOURCE_ENV}=/path/to/mitdb` (a folder with PhysioNet's "
                f"mitdb/1.0.0 files) or `python -m ecgutils fetch --source /path/to/mitdb`."
            ) from exc
        for name in names:
            got = tmpdir / name
            if not got.is_file():
                raise MitdbUnavailableError(f"PhysioNet did not deliver {name}.")
            _install(got, dest / name, sums[name], "PhysioNet")
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


def fetch(
    records: str | int | Iterable[str | int] | None = None,
    *,
    source: str | os.PathLike | None = None,
    dest: str | os.PathLike | None = None,
    extensions: Sequence[str] = RECORD_EXTENSIONS,
    progress: bool = True,
    checksums: Mapping[str, str] | None = None,
) -> FetchReport:
    """Make sure the MIT-BIH files of some records are present and verified.

    Files already present with the right SHA-256 are left alone. Missing or corrupt ones are
    copied from ``source`` (or ``$MITDB_SOURCE``) when given, else downloaded from PhysioNet.
    Each file lands under a temporary name and is renamed into place only once verified, so
    an interrupted fetch never leaves a half file under a real name.

    Parameters
    ----------
    records : record name(s), optional
        E.g. ``["100", "207"]``; ``None`` means all 48 records.
    source : path, optional
        Local folder with PhysioNet's ``mitdb/1.0.0`` files. Defaults to ``$MITDB_SOURCE``.
    dest : path, optional
        Target folder; defaults to ``data/mitdb``.
    extensions : sequence of str
        Which files of each record: any of ``hea``, ``dat``, ``atr``.
    progress : bool
        Show a progress bar while copying or downloading.
    checksums : mapping, optional
        File name to SHA-256; defaults to PhysioNet's list shipped with the package
        (:func:`expected_checksums`). Tests pass their own.

    Raises
    ------
    ValueError
        Unknown record or extension.
    ChecksumError
        A copied or downloaded file still fails verification (names both checksums).
    FileNotFoundError
        The source folder or a file in it is missing.
    MitdbUnavailableError
        No source was given and PhysioNet could not be reached.
    """
    names = check_record_names(records)
    bad_ext = [e for e in extensions if e not in RECORD_EXTENSIONS]
    if bad_ext:
        raise ValueError(f"Unknown file kind(s) {bad_ext}; use some of {list(RECORD_EXTENSIONS)}.")
    dest = Path(dest) if dest is not None else mitdb_dir()
    dest.mkdir(parents=True, exist_ok=True)
    sums = dict(checksums) if checksums is not None else expected_checksums()
    report = FetchReport(folder=dest, records=names)

    missing = []
    for name in (f"{r}.{e}" for r in names for e in extensions):
        path = dest / name
        if path.is_file():
            if sha256_file(path) == sums[name]:
                report.verified.append(name)
                continue
            log.warning("%s is corrupt or truncated; replacing it", path)
            report.repaired.append(name)
        missing.append(name)
    if not missing:
        return report

    source = source if source is not None else os.environ.get(SOURCE_ENV) or None
    if source is not None:
        source = Path(source).expanduser()
        if not source.is_dir():
            raise FileNotFoundError(
                f"MIT-BIH source folder {source} does not exist. Point --source or "
                f"${SOURCE_ENV} at a folder holding PhysioNet's mitdb/1.0.0 files."
            )

        for name in tqdm(missing, desc="Copying MIT-BIH", unit="file", disable=not progress):
            _copy_in(name, source, dest, sums[name])
        report.copied.extend(missing)
    else:
        log.info("Downloading %d MIT-BIH file(s) from PhysioNet", len(missing))
        _download(missing, dest, sums)
        report.downloaded.extend(missing)
    return report


@dataclass(frozen=True)
class Annotations:
    """A set of annotations of one record, in time order.

    Attributes
    ----------
    sample : (n,) int64 array
        Sample index of each annotation (at the record's sampling rate).
    symbol : (n,) str array
        WFDB symbol, e.g. ``N``, ``V``, ``+``.
    aux_note : (n,) str array
        Extra text: the rhythm for ``+`` marks (``(AFIB``), free text for comments.
    """

    sample: np.ndarray
    symbol: np.ndarray
    aux_note: np.ndarray

    def __len__(self) -> int:
        return len(self.sample)

    def select(self, mask: np.ndarray) -> Annotations:
        return Annotations(self.sample[mask], self.symbol[mask], self.aux_note[mask])

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {"sample": self.sample, "symbol": self.symbol, "aux_note": self.aux_note}
        )


@dataclass(frozen=True)
class Record:
    """One lead of one MIT-BIH record with its reference annotations.

    Attributes
    ----------
    name : str
        Record name, e.g. ``"100"``.
    signal : (n_samples,) float64 array
        The lead, in mV, sampled at ``fs``.
    fs : float
        Sampling rate in Hz (360 for MIT-BIH).
    lead : str
        The lead actually loaded (``MLII`` for 46 records, the fallback for 102 and 104).
    leads : tuple of str
        All leads the record has.
    beats : Annotations
        Reference beat labels (WFDB beat symbols, flutter waves ``!`` included).
    marks : Annotations
        Non-beat marks: rhythm changes ``+``, noise ``~``, comments ``"``, and others.
    comments : tuple of str
        Header comments: age, sex, medication.
    """

    name: str
    signal: np.ndarray
    fs: float
    lead: str
    leads: tuple[str, ...]
    beats: Annotations
    marks: Annotations
    comments: tuple[str, ...] = ()

    @property
    def duration_s(self) -> float:
        """Length of the record in seconds."""
        return len(self.signal) / self.fs

    @property
    def time_s(self) -> np.ndarray:
        """(n_samples,) float64 array: time of each sample in seconds."""
        return np.arange(len(self.signal)) / self.fs

    def beat_labels(self, scheme: str) -> np.ndarray:
        """(n_beats,) int64 class index of each beat under a scheme; -1 if not in it."""
        return label_symbols(self.beats.symbol, scheme)


def _choose_lead(
    name: str, leads: Sequence[str], lead: str | int, stacklevel: int, warn: bool = True
) -> str:
    if isinstance(lead, int):
        if not -len(leads) <= lead < len(leads):
            raise ValueError(
                f"Record {name} has {len(leads)} leads {list(leads)}; index {lead} is out of range."
            )
        return leads[lead]
    if lead in leads:
        return lead
    if lead == "MLII" and MLII_FALLBACK in leads:
        if warn:
            warnings.warn(
                f"Record {name} has no MLII lead (its leads are {', '.join(leads)}); "
                f"using {MLII_FALLBACK} instead.",
                stacklevel=stacklevel,
            )
        return MLII_FALLBACK
    raise ValueError(f"Record {name} has no lead {lead!r}; its leads are {', '.join(leads)}.")


def read_annotations(path: str | os.PathLike, extension: str = "atr") -> Annotations:
    """All annotations of any WFDB record at ``path`` (no extension), beats and marks together."""
    ann = wfdb.rdann(str(path), extension)
    aux = ann.aux_note if ann.aux_note is not None else [""] * len(ann.sample)
    return Annotations(
        np.asarray(ann.sample, dtype=np.int64),
        np.asarray(ann.symbol, dtype=object).astype(str),
        np.asarray([a.rstrip("\x00") for a in aux], dtype=object).astype(str),
    )


def split_beats(ann: Annotations) -> tuple[Annotations, Annotations]:
    """Split annotations into (beats, marks) using :data:`ecgutils.classes.BEAT_SYMBOLS`."""
    is_beat = np.isin(ann.symbol, list(BEAT_SYMBOLS))
    return ann.select(is_beat), ann.select(~is_beat)


def read_record(
    path: str | os.PathLike,
    lead: str | int = "MLII",
    *,
    annotator: str | None = "atr",
    warn: bool = True,
    _stacklevel: int = 2,
) -> Record:
    """Read one lead of any WFDB record at ``path`` (without extension), in mV.

    This is the reader behind :func:`load_record`; it neither fetches nor verifies, so it
    also reads records that are not part of MIT-BIH.

    Parameters
    ----------
    path : path
        Record path without extension, e.g. ``data/mitdb/100``.
    lead : str or int
        Lead name or index. ``"MLII"`` falls back to :data:`MLII_FALLBACK` with a warning
        when the record has no MLII.
    annotator : str or None
        Annotation file extension to read, or ``None`` for none (empty beats and marks).
    warn : bool
        Warn when MLII falls back to another lead. Code that reads many records (in worker
        threads too) passes ``False`` rather than changing the process's warning filters;
        the chosen lead is in :attr:`Record.lead` either way.
    """
    path = Path(path)
    header = wfdb.rdheader(str(path))
    name = header.record_name
    leads = tuple(header.sig_name)
    chosen = _choose_lead(name, leads, lead, _stacklevel + 1, warn)
    rec = wfdb.rdrecord(str(path), channel_names=[chosen])
    if rec.units[0] != "mV":
        raise ValueError(f"Record {name} lead {chosen} is in {rec.units[0]!r}, expected mV.")
    if annotator is None:
        empty = np.array([], dtype=str)
        beats = marks = Annotations(np.array([], dtype=np.int64), empty, empty)
    else:
        beats, marks = split_beats(read_annotations(path, annotator))
    return Record(
        name=name,
        signal=rec.p_signal[:, 0].astype(np.float64),
        fs=float(rec.fs),
        lead=chosen,
        leads=leads,
        beats=beats,
        marks=marks,
        comments=tuple(header.comments or ()),
    )


def load_annotations(
    record: str | int, *, data_dir: str | os.PathLike | None = None
) -> Annotations:
    """All reference annotations of an MIT-BIH record (``.atr``), beats and marks together.

    Fetches and verifies the annotation file first if it is missing (see :func:`fetch`).
    """
    (name,) = check_record_names(record)
    folder = Path(data_dir) if data_dir is not None else mitdb_dir()
    fetch(name, dest=folder, extensions=("atr",), progress=False)
    return read_annotations(folder / name)


def load_record(
    record: str | int,
    lead: str | int = "MLII",
    *,
    data_dir: str | os.PathLike | None = None,
    warn: bool = True,
) -> Record:
    """Load one lead of an MIT-BIH record, in mV, with its reference annotations.

    Fetches and verifies the record's files first if they are missing.

    Parameters
    ----------
    record : str or int
        One of the 48 record names, e.g. ``"100"`` or ``100``.
    lead : str or int
        Lead name (``"MLII"``, ``"V1"``, ...) or index. Records 102 and 104 have no MLII;
        asking them for MLII gives :data:`MLII_FALLBACK` (V5) with a warning.
    data_dir : path, optional
        Folder with the MIT-BIH files; defaults to ``data/mitdb``.
    warn : bool
        ``False``: no warning for the MLII fallback (see :func:`read_record`).

    Raises
    ------
    ValueError
        Unknown record (lists the valid ones) or a lead the record lacks (lists its leads).
    """
    (name,) = check_record_names(record)
    folder = Path(data_dir) if data_dir is not None else mitdb_dir()
    fetch(name, dest=folder, progress=False)
    return read_record(folder / name, lead, warn=warn, _stacklevel=3)


def count_classes(
    records: str | int | Iterable[str | int] | None = None,
    scheme: str = "paper8",
    *,
    data_dir: str | os.PathLike | None = None,
) -> pd.DataFrame:
    """Beats of each class in each record, counted from the reference annotations.

    Only the annotation files are needed (fetched if missing). Beats whose symbol the scheme
    leaves out are not counted.

    Returns
    -------
    DataFrame
        One row per record (index ``record``), one column per class of the scheme, in the
        scheme's order; integer counts.
    """
    names = check_record_names(records)
    classes = scheme_classes(scheme)
    rows = []
    for name in names:
        beats, _ = split_beats(load_annotations(name, data_dir=data_dir))
        labels = label_symbols(beats.symbol, scheme)
        rows.append(np.bincount(labels[labels >= 0], minlength=len(classes)))
    table = pd.DataFrame(rows, index=pd.Index(names, name="record"), columns=classes)
    table.columns.name = scheme
    return table


def count_symbols(
    records: str | int | Iterable[str | int] | None = None,
    *,
    data_dir: str | os.PathLike | None = None,
) -> pd.Series:
    """How often each annotation symbol (beats and marks) occurs over some records."""
    names = check_record_names(records)
    symbols = np.concatenate([load_annotations(n, data_dir=data_dir).symbol for n in names])
    return pd.Series(symbols).value_counts().rename_axis("symbol").rename("count")
