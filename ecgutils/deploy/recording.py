"""Opening an ECG recording of any length and format (chapter 10, ``python -m ecgutils predict``).

:func:`open_recording` opens one lead of

- a **WFDB** record (``.hea`` with its signal file): rate, units and lead names from the header;
- an **EDF or EDF+** file (``.edf``; BDF too), what most Holter and sleep systems export: rate,
  physical units and lead labels from its header (pyedflib);
- a **text export** (CSV and its kin, :mod:`ecgutils.deploy.ecgfile`).

WFDB and EDF recordings are read piece by piece from disk (:meth:`Recording.read`), so a day or a
week of ECG is classified in bounded memory (:func:`ecgutils.deploy.predict.predict_recording`); a
text export is read whole (it is limited to :data:`ecgutils.deploy.ecgfile.MAX_FILE_BYTES`).
:func:`read_ecg` reads the whole lead into memory (an :class:`~ecgutils.deploy.ecgfile.ECG`).

Any other binary file is refused with one line naming the formats accepted; bad input raises
``ValueError`` or ``FileNotFoundError`` and nothing is written anywhere.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .ecgfile import ECG, _agree, _check_signal, _pick_lead, _to_mv, read_text_ecg

#: What the course reads, for messages.
FORMATS = (
    "a text export (CSV, TXT, TSV: one column of samples, or a time column and leads), a WFDB "
    "record (its .hea header beside its .dat signal) or an EDF/EDF+ file (.edf)"
)
#: Extensions read as EDF (pyedflib reads EDF, EDF+, BDF and BDF+).
EDF_SUFFIXES = (".edf", ".rec", ".bdf")


@dataclass
class Recording:
    """One lead of a recording, read piece by piece.

    Attributes
    ----------
    fs : float
        Sampling rate, Hz.
    n_samples : int
    lead, source : str
        The lead's name; the file's name, for messages and reports.
    leads : list of str
        Every lead the file offered.
    fs_source : str
        Where the rate came from (``"WFDB header"``, ``"EDF header"``, ``"time column"``...).
    reader : callable
        ``reader(a, b)``: samples ``a`` to ``b`` (exclusive) of the lead, mV, float64.
    """

    fs: float
    n_samples: int
    lead: str
    source: str
    leads: list[str]
    fs_source: str
    reader: Callable[[int, int], np.ndarray] = field(repr=False)
    encoding: str = ""

    @property
    def duration_s(self) -> float:
        return self.n_samples / self.fs

    def read(self, a: int, b: int) -> np.ndarray:
        """Samples ``a`` to ``b`` (clipped to the recording), mV; refuses missing samples."""
        a, b = max(0, int(a)), min(self.n_samples, int(b))
        x = np.asarray(self.reader(a, b), dtype=float) if b > a else np.zeros(0)
        if not np.isfinite(x).all():
            bad = a + int(np.flatnonzero(~np.isfinite(x))[0])
            raise ValueError(
                f"{self.source}: lead {self.lead} has a missing sample (NaN) at sample {bad:,} "
                f"({bad / self.fs:.1f} s): fill or cut the gap, then try again."
            )
        return x

    def to_ecg(self) -> ECG:
        """The whole lead in memory, checked as a file is (:func:`read_ecg`)."""
        ecg = ECG(self.read(0, self.n_samples), self.fs, self.lead, self.source, self.leads,
                  self.fs_source, self.encoding)  # fmt: skip
        _check_signal(ecg)
        return ecg


def recording_from_ecg(ecg: ECG) -> Recording:
    """A :class:`Recording` served from an :class:`ECG` already in memory."""
    x = ecg.signal
    return Recording(ecg.fs, len(x), ecg.lead, ecg.source, list(ecg.leads) or [ecg.lead],
                     ecg.fs_source, lambda a, b: x[a:b], ecg.encoding)  # fmt: skip


def _looks_edf(head: bytes) -> bool:
    """EDF/EDF+ start with version ``0`` padded to 8 bytes; BDF with ``\\xffBIOSEMI``."""
    return head[:8] == b"0       " or head[:8] == b"\xffBIOSEMI"


def _is_binary(head: bytes) -> bool:
    if head.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
        return False  # a text file's byte-order mark
    for text, zeros in ((head[0::2], head[1::2]), (head[1::2], head[0::2])):
        if zeros.count(0) > 0.9 * len(zeros) and _is_text(text):
            return False  # UTF-16 without its mark: the text reader says how to save it
    return b"\x00" in head or not _is_text(head)


def _is_text(head: bytes) -> bool:
    control = sum(1 for c in head if c < 32 and c not in (9, 10, 13))
    return control <= 0.05 * max(len(head), 1)


def open_recording(
    path: str | os.PathLike,
    *,
    fs: float | None = None,
    lead: str | int | None = None,
    name: str | None = None,
    **text_options,
) -> Recording:
    """Open one lead of an ECG file of any length (module docstring lists the formats).

    Parameters
    ----------
    path : path
        A WFDB record (``rec.hea``, ``rec.dat`` or ``rec``), an EDF/EDF+ file or a text export.
    fs : float, optional
        Sampling rate, Hz, for a file that does not state it; refused when it contradicts the
        file.
    lead : str or int, optional
        Lead name (case-insensitive) or index; default MLII, else the first.
    name : str, optional
        How the file is named in messages (default: its file name).
    **text_options
        For a text export: ``units``, ``gain``, ``baseline``, ``delimiter``, ``decimal``
        (:func:`ecgutils.deploy.ecgfile.read_text_ecg`).

    Returns
    -------
    Recording
    """
    path = Path(path)
    source = name or path.name
    suffix = path.suffix.lower()
    if suffix in (".hea", ".dat") or (not suffix and path.with_suffix(".hea").is_file()):
        return _open_wfdb(path, fs, lead, source)
    if not path.is_file():
        raise FileNotFoundError(f"No file {str(path)!r}: check the path.")
    with open(path, "rb") as f:
        head = f.read(4096)
    if suffix in EDF_SUFFIXES or _looks_edf(head):
        return _open_edf(path, fs, lead, source)
    if head and _is_binary(head):
        raise ValueError(
            f"{source} is a binary file of a kind the course does not read: give {FORMATS}."
        )
    ecg = read_text_ecg(path, fs=fs, lead=lead, name=source, **text_options)
    return recording_from_ecg(ecg)


def read_ecg(path: str | os.PathLike, **options) -> ECG:
    """One lead of an ECG file, whole, in memory (:func:`open_recording`'s options)."""
    return open_recording(path, **options).to_ecg()


def _open_wfdb(path: Path, fs, lead, source: str) -> Recording:
    import wfdb

    base = path.with_suffix("") if path.suffix.lower() in (".hea", ".dat") else path
    if not base.with_suffix(".hea").is_file():
        raise FileNotFoundError(f"No WFDB header {str(base.with_suffix('.hea'))!r}.")
    try:
        header = wfdb.rdheader(str(base))
    except Exception as exc:  # wfdb raises many kinds for a damaged header
        raise ValueError(f"{source}: cannot read it as a WFDB record ({exc}).") from None
    if getattr(header, "n_seg", None):
        raise ValueError(
            f"{source} is a multi-segment WFDB record: join its segments into one record "
            "(wfdb.rdrecord(...).wrsamp) and try again."
        )
    leads = [str(x) for x in header.sig_name]
    k = _pick_lead(leads, lead, source)
    rate = _agree(fs, float(header.fs), "WFDB header", source)
    units = (header.units[k] if header.units else "") or "mV"
    _to_mv(np.zeros(1), units, None, 0.0)  # refuse units it cannot convert, now

    def reader(a: int, b: int) -> np.ndarray:
        try:
            rec = wfdb.rdrecord(str(base), sampfrom=a, sampto=b, channels=[k])
        except Exception as exc:  # a signal file shorter than its header says, and the like
            raise ValueError(f"{source}: cannot read samples {a:,} to {b:,} ({exc}).") from None
        return _to_mv(rec.p_signal[:, 0].astype(float), units, None, 0.0)

    n = int(header.sig_len or 0)
    out = Recording(rate, n, leads[k], source, leads, "WFDB header", reader)
    _check_start(out)
    return out


def _open_edf(path: Path, fs, lead, source: str) -> Recording:
    import pyedflib

    def opened():
        try:
            return pyedflib.EdfReader(str(path))
        except Exception as exc:  # pyedflib raises OSError with its own reason for a bad file
            raise ValueError(
                f"{source}: cannot read it as EDF/EDF+ ({exc}). Export it again as EDF, or give "
                f"{FORMATS}."
            ) from None

    edf = opened()  # the header now; each piece is read with the file opened again, so no file
    try:  # stays open between reads
        labels = [edf.getLabel(i).strip() for i in range(edf.signals_in_file)]
        rates = [float(edf.getSampleFrequency(i)) for i in range(edf.signals_in_file)]
        units = [edf.getPhysicalDimension(i).strip() for i in range(edf.signals_in_file)]
        lengths = [int(n) for n in edf.getNSamples()]
    finally:
        edf.close()
    signals = [i for i, lab in enumerate(labels) if not lab.upper().startswith("EDF ANNOTATION")]
    if not signals:
        raise ValueError(f"{source} holds no signal, only annotations.")
    names = [labels[i] for i in signals]
    k = signals[_pick_lead(names, lead, source)]
    rate = _agree(fs, rates[k], "EDF header", source)
    unit = units[k] or "mV"
    try:
        _to_mv(np.zeros(1), unit, None, 0.0)  # refuse units it cannot convert, now
    except ValueError as exc:
        raise ValueError(f"{source}, lead {labels[k]}: {exc}") from None

    def reader(a: int, b: int) -> np.ndarray:
        f = opened()
        try:
            return _to_mv(f.readSignal(k, start=a, n=b - a).astype(float), unit, None, 0.0)
        finally:
            f.close()

    out = Recording(rate, lengths[k], labels[k], source, names, "EDF header", reader)
    _check_start(out)
    return out


def _check_start(rec: Recording) -> None:
    """The checks of a file read whole, on the recording's first minutes: too short, flat,
    raw units (a later flat or missing stretch is refused where it is read)."""
    first = rec.read(0, min(rec.n_samples, int(10 * 60 * rec.fs)))
    _check_signal(ECG(first, rec.fs, rec.lead, rec.source, rec.leads, rec.fs_source))
