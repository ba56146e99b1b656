"""Reading an ECG text export (notebook 10, ``python -m ecgutils predict``, the page).

:func:`read_text_ecg` reads one lead of a text export: comma-, semicolon-, tab- or space-separated
columns, decimal points or decimal commas, UTF-8 (with or without a byte-order mark), UTF-16 with
its byte-order mark, or Latin-1; optional comment lines (``# ...``) on top, an optional header
(lead names, time or sample column) and an optional units row (PhysioNet's export: ``'Elapsed
time','MLII','V5'`` then ``'hh:mm:ss.mmm','mV','mV'``); or a headerless column of numbers.
WFDB records and EDF files are opened by :mod:`ecgutils.deploy.recording`, which routes every
file (:func:`~ecgutils.deploy.recording.read_ecg`).

**The rate comes from the file wherever the file states it**: a time column (seconds,
milliseconds or ``h:mm:ss.mmm`` clock stamps), or a comment line such as ``# sampling rate: 250
Hz``. A rate passed by the caller that contradicts the file is refused; a file that states no
rate needs one passed (there is no default: a 250 Hz strip read at 360 Hz gives wrong beats
without a word).

Whatever the file could mean two ways is refused with a message that names the fix (for
example ``0,5`` on every line: two integer columns, or one column with decimal commas?).
Bad input raises ``ValueError`` (or ``FileNotFoundError``); nothing is written anywhere.
"""

from __future__ import annotations

import io
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

#: Largest file :func:`read_ecg` accepts, bytes (a 30-minute two-lead PhysioNet CSV export is
#: about 16 MB; a 24-hour single-lead one about 100 MB).
MAX_FILE_BYTES = 128 * 2**20
#: Sampling rates accepted, Hz.
FS_RANGE = (50.0, 10_000.0)
#: Fewest beats a recording must hold to be classified (RR features need neighbours).
MIN_BEATS = 3
#: Peak-to-peak below this (mV) is a flat line; above :data:`MAX_PTP_MV` looks like raw ADC units.
MIN_PTP_MV = 0.02
MAX_PTP_MV = 50.0
#: Units a CSV units row or the ``units`` argument may name, with their factor to mV.
UNIT_FACTORS = {"mv": 1.0, "uv": 1e-3, "µv": 1e-3, "μv": 1e-3, "v": 1e3}
#: Field separators :func:`read_ecg` accepts by name (``delimiter=``), and decimal marks.
DELIMITERS = {"comma": ",", "semicolon": ";", "tab": "\t", "space": " "}
DECIMALS = {"point": ".", "comma": ","}
#: How a report says where the rate came from (:attr:`ECG.fs_source`).
RATE_FROM = {
    "WFDB header": "from its WFDB header", "EDF header": "from its EDF header",
    "time column": "from its time column",
    "comment line": "from its comment line", "given": "as given",
}  # fmt: skip
#: Rows looked at to recognise the layout (header, units row, separator, decimal mark).
_HEAD_ROWS = 60
_HEAD_CHARS = 100_000
#: Column names holding time stamps, compared lower-case (they state the sampling rate); also
#: in German, Spanish, French and Italian exports.
_TIME = re.compile(
    r"^(.*(time|zeit|tiempo|temps|tempo).*|elapsed.*|t|t ?[\(\[_].*|seconds?|secs?|ms|msec)$"
)
#: Column names holding sample numbers (not a lead, and no rate).
_SAMPLE = re.compile(r"^(sample ?#?|samples?|sample ?(no|number|index)\.?|index|n|#)$")
#: Units written after a lead's name: ``MLII (mV)``, ``ECG [uV]``.
_NAME_UNITS = re.compile(r"^(.*?)\s*[\(\[]\s*(mv|uv|µv|μv|v)\s*[\)\]]$", re.I)
#: A comment line stating the rate: ``# sampling rate: 250 Hz``, ``# fs = 500``.
_RATE_LINE = re.compile(
    r"(?i)\b(?:sampling[ _-]?(?:rate|frequency)|sample[ _-]?rate|fs)\b\D{0,12}?"
    r"(\d+(?:[.,]\d+)?)\s*(?:hz|sps|samples ?/ ?s)?"
)


@dataclass
class ECG:
    """One lead of a recording, in mV.

    Attributes
    ----------
    signal : (n,) float64 array, mV
    fs : float
        Sampling rate, Hz.
    lead : str
        Name of the lead (or ``"column 1"`` for a headerless file).
    source : str
        File name, for messages and reports.
    leads : list of str
        Every lead the file offered.
    fs_source : str
        Where the rate came from: ``"WFDB header"``, ``"time column"``, ``"comment line"`` or
        ``"given"``.
    encoding : str
        How a text file was decoded (``"UTF-8"``, ``"Latin-1"``, ...); empty for WFDB.
    """

    signal: np.ndarray
    fs: float
    lead: str
    source: str = "signal"
    leads: list[str] = field(default_factory=list)
    fs_source: str = "given"
    encoding: str = ""

    @property
    def duration_s(self) -> float:
        return len(self.signal) / self.fs

    @property
    def n_samples(self) -> int:
        return len(self.signal)

    def read(self, a: int, b: int) -> np.ndarray:
        """Samples ``a`` to ``b`` (as :meth:`ecgutils.deploy.recording.Recording.read`)."""
        return self.signal[max(0, int(a)) : max(0, int(b))]


# --------------------------------------------------------------------------------------------
# Small checks shared by every format


def _clean(name: str) -> str:
    return str(name).strip().strip("'\"").strip()


def _number(token: str, decimal: str = ".") -> float | None:
    t = _clean(token)
    if decimal == ",":
        if "." in t:
            return None
        t = t.replace(",", ".")
    try:
        return float(t)
    except ValueError:
        return None


def _check_fs(fs: float) -> float:
    try:
        fs = float(fs)
    except (TypeError, ValueError):
        raise ValueError(f"The sampling rate must be a number of Hz, got {fs!r}.") from None
    lo, hi = FS_RANGE
    if not np.isfinite(fs) or not lo <= fs <= hi:
        raise ValueError(
            f"A sampling rate of {fs:g} Hz is outside {lo:g}-{hi:,.0f} Hz: pass the rate the ECG "
            "was recorded at (MIT-BIH: 360 Hz), e.g. --fs 360."
        )
    return fs


def _pick_lead(leads: list[str], lead: str | int | None, source: str) -> int:
    """Index into ``leads`` of the requested lead (default MLII, else the first)."""
    if lead is None or (isinstance(lead, str) and not lead.strip()):
        upper = [x.upper() for x in leads]
        return upper.index("MLII") if "MLII" in upper else 0
    if isinstance(lead, int) or (isinstance(lead, str) and lead.strip().lstrip("-").isdigit()):
        k = int(lead)
        if not 0 <= k < len(leads):
            raise ValueError(
                f"{source} has {len(leads)} lead(s) ({', '.join(leads)}); lead index {k} does "
                f"not exist (use 0 to {len(leads) - 1}, or a name)."
            )
        return k
    wanted = _clean(lead).upper()
    for k, name in enumerate(leads):
        if name.upper() == wanted:
            return k
    raise ValueError(
        f"{source} has no lead named {lead!r}; its leads are: {', '.join(leads)}. "
        "Pass one of these names, or an index."
    )


def _to_mv(values: np.ndarray, units: str, gain: float | None, baseline: float) -> np.ndarray:
    key = units.strip().lower()
    if key == "adc":
        if gain is None or not gain > 0:
            raise ValueError(
                "Raw ADC units need the gain in ADC units per mV (MIT-BIH: 200), e.g. "
                "--units adc --gain 200."
            )
        return (values - baseline) / gain
    if key not in UNIT_FACTORS:
        raise ValueError(
            f"Unknown units {units!r}: use mV, uV or V, or 'adc' with a gain (ADC units per mV)."
        )
    return values * UNIT_FACTORS[key]


def _agree(fs: float | None, stated: float, where: str, source: str) -> float:
    """The file's rate; a given ``fs`` must be the same (within 0.1%)."""
    if fs is not None and abs(_check_fs(fs) - stated) > 1e-3 * stated:
        raise ValueError(
            f"{source} says it was sampled at {stated:g} Hz (its {where}), not {float(fs):g} Hz: "
            "leave the sampling rate out, the file states it."
        )
    return _check_fs(stated)


# --------------------------------------------------------------------------------------------
# Text files


def _decode(raw: bytes, source: str) -> tuple[str, str]:
    """(text, encoding name) of a text file's bytes."""
    if raw.startswith(b"\xef\xbb\xbf"):
        try:
            return raw[3:].decode("utf-8"), "UTF-8 with BOM"
        except UnicodeDecodeError as exc:
            raise ValueError(
                f"{source} starts with a UTF-8 byte-order mark but byte {exc.start + 3} is not "
                "UTF-8: save it again as UTF-8 (or as Latin-1 without the mark)."
            ) from None
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16"), "UTF-16"
    if b"\x00" in raw[:4096]:
        raise ValueError(
            f"{source} is not a text file (it holds NUL bytes). A WFDB signal file (.dat) is "
            "read through its header: pass the .hea file. A UTF-16 export without a byte-order "
            "mark: save it as UTF-8."
        )
    try:
        return raw.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        return raw.decode("latin-1"), "Latin-1"


def _split(line: str, delimiter: str | None) -> list[str]:
    if delimiter is None:
        return [line]
    if delimiter == " ":
        return line.split()
    return line.split(delimiter)


@dataclass
class _Layout:
    delimiter: str | None  # None: one column
    decimal: str
    header: list[str] | None  # the header's names, cleaned
    units_row: list[str] | None
    skip: int  # lines before the first data row (comments, blank lines, header, units row)
    rate: float | None  # stated in a comment line
    n_fields: int


def _sniff_delimiter(rows: list[str], source: str) -> str | None:
    for d in (";", "\t", ","):
        counts = {r.count(d) for r in rows}
        if len(counts) == 1 and counts != {0}:
            return d
    counts = {len(r.split()) for r in rows}
    if len(counts) == 1 and counts != {1}:
        return " "
    if all(len(r.split()) == 1 for r in rows) and not any(c in r for r in rows for c in ";\t"):
        return None
    for d, name in ((";", "semicolons"), ("\t", "tabs"), (",", "commas")):
        counts = [r.count(d) for r in rows]
        if any(counts):
            k = next(i for i, c in enumerate(counts) if c != counts[0])
            raise ValueError(
                f"{source}: its rows hold different numbers of {name} ({counts[0]} in the first "
                f"data row, {counts[k]} in row {k + 1}), so its columns cannot be told apart. "
                "Export it again with one separator between columns."
            )
    return None  # unreachable: a row without separators has one field


_INT_PAIR = re.compile(r"^\s*['\"]?(-?\d+),(\d+)['\"]?\s*$")


def _decimal_comma_in_comma_rows(
    rows: list[str], header: list[str] | None, source: str
) -> bool | None:
    """For comma-separated integer rows: True when the comma is a decimal mark (one column),
    False when it separates columns, None when the file does not say."""
    n = rows[0].count(",") + 1
    if header is not None:
        if len(header) == n:
            return False
        if len(header) == 1 and n == 2:
            return True
        raise ValueError(
            f"{source}: the header names {len(header)} column(s) but the rows hold {n} "
            "comma-separated fields. If the numbers use decimal commas, export the file with "
            "semicolons between columns."
        )
    if n != 2:
        return False
    pairs = [_INT_PAIR.match(r) for r in rows]
    if not all(pairs):
        return False
    whole = [p.group(1) for p in pairs]
    frac = [p.group(2) for p in pairs]
    if any(f.startswith("0") and len(f) > 1 for f in frac) or "-0" in whole:
        return True  # 0,0345 or -0,5: an integer column would not be written so
    first = np.array([int(w) for w in whole])
    if len(first) > 2 and (np.diff(first) == 1).all():
        return False  # a sample-number column beside the values
    return None


def _layout(text: str, source: str, delimiter: str | None, decimal: str | None) -> _Layout:
    lines = text[:_HEAD_CHARS].splitlines()
    skip, rate, comments = 0, None, []
    while skip < len(lines) and (not lines[skip].strip() or lines[skip].lstrip().startswith("#")):
        comments.append(lines[skip])
        skip += 1
    head = []
    k = skip
    while k < len(lines) and len(head) < _HEAD_ROWS:
        if lines[k].strip():
            head.append((k, lines[k]))
        k += 1
    if not head:
        raise ValueError(f"{source} holds no data, only blank or comment lines.")
    for c in comments:
        m = _RATE_LINE.search(c)
        if m:
            rate = float(m.group(1).replace(",", "."))

    # the data rows: after a header and a units row, which hold words
    def wordy(line: str, d, dec) -> bool:
        return any(t.strip() and _number(t, dec) is None and not _clock(t)
                   for t in _split(line, d))  # fmt: skip

    rows = [line for _, line in head]
    body = rows[2:] if len(rows) > 4 else rows[1:] if len(rows) > 1 else rows
    d = DELIMITERS.get(delimiter, delimiter) if delimiter else _sniff_delimiter(body, source)
    first = [_clean(t) for t in _split(rows[0], d)]
    header = first if wordy(rows[0], d, decimal or ".") and wordy(rows[0], d, ",") else None
    dec = DECIMALS.get(decimal, decimal) if decimal else None
    if dec is None:
        fields = [t for r in body for t in _split(r, d)]
        if d == ",":
            if any("." in _clean(t) for t in fields):
                dec = "."
            else:
                verdict = _decimal_comma_in_comma_rows(body, header, source)
                if verdict is None:
                    raise ValueError(
                        f"{source}: every row is two whole numbers separated by a comma (for "
                        f"example {body[0].strip()!r}): two columns, or one column written with "
                        "decimal commas? Say which: --decimal comma (one column) or --decimal "
                        "point (two columns)."
                    )
                dec = "," if verdict else "."
        else:
            commas = any(re.fullmatch(r"[-+]?\d*,\d+", _clean(t)) for t in fields)
            points = any(re.fullmatch(r"[-+]?\d*\.\d+(?:[eE][-+]?\d+)?", _clean(t)) for t in fields)
            if commas and points:
                raise ValueError(
                    f"{source}: some numbers have decimal commas and some decimal points: "
                    "export it again with one decimal mark."
                )
            dec = "," if commas else "."
    if d == "," and dec == ",":
        d = None  # one column written with decimal commas
        header = None if header is None else [_clean(rows[0])]
    if dec not in (".", ","):
        raise ValueError(f"decimal must be 'point' or 'comma', got {decimal!r}.")
    units_row = None
    skip = head[0][0]
    if header is not None:
        skip = head[1][0] if len(head) > 1 else head[0][0] + 1
        cells = [t for t in _split(head[1][1], d) if t.strip()] if len(head) > 1 else []
        if cells and all(_number(t, dec) is None for t in cells):  # words only: units
            units_row = [_clean(t) for t in _split(head[1][1], d)]
            skip = head[2][0] if len(head) > 2 else head[1][0] + 1
    n_fields = len(_split(body[0], d)) if body else 1
    return _Layout(d, dec, header, units_row, skip, rate, n_fields)


_CLOCK = re.compile(r"^\[?(?:(\d+):)?(\d+):(\d+(?:[.,]\d*)?)(?:\s.*)?\]?$")


def _clock(token: str) -> float | None:
    """Seconds of an ``h:mm:ss.mmm`` or ``m:ss.mmm`` stamp (PhysioNet's exports), else None."""
    m = _CLOCK.match(_clean(token))
    if not m:
        return None
    h, mnt, s = m.groups()
    return 3600 * int(h or 0) + 60 * int(mnt) + float(s.replace(",", "."))


def _times(tokens: list[str], decimal: str) -> tuple[np.ndarray, float, bool]:
    """(values, resolution, clock) of time stamps: clock stamps in seconds, or numbers."""
    clean = [_clean(t) for t in tokens]
    clock = bool(clean) and _CLOCK.match(clean[0]) is not None
    values = [(_clock(t) if clock else _number(t, decimal)) for t in clean]
    if any(v is None for v in values):
        k = next(i for i, v in enumerate(values) if v is None)
        raise ValueError(f"the time stamp {tokens[k]!r} is not a time")
    digits = max((len(re.split(r"[.,]", t)[1]) if re.search(r"[.,]", t) else 0) for t in clean)
    return np.array(values, dtype=float), 10.0**-digits, clock


def _rate_from_times(
    head: np.ndarray, last: float, n: int, resolution: float, unit: str | None, source: str
) -> float | None:
    """The sampling rate, Hz, of ``n`` evenly spaced stamps (``head``: the first ones); None
    when stamps without a unit count 0, 1, 2, ... (milliseconds, or sample numbers?)."""
    span = last - head[0]
    if n < 2 or not span > 0 or (np.diff(head) <= 0).any():
        raise ValueError(
            f"{source}: its time column does not increase from row to row, so it states no "
            "sampling rate. Fix the time column, or remove it and pass the rate (--fs)."
        )
    per_unit = (n - 1) / span
    if unit is None and abs(per_unit - 1) < 1e-9 and np.allclose(head, np.round(head)):
        return None  # 0, 1, 2, ...: milliseconds at 1000 Hz, or sample numbers? Not stated.
    if unit is None:  # seconds or milliseconds: only one reading gives an ECG's rate
        unit = "s" if FS_RANGE[0] <= per_unit <= FS_RANGE[1] else "ms"
    fs = per_unit * (1000.0 if unit == "ms" else 1.0)
    expected = head[0] + np.arange(len(head)) * span / (n - 1)
    if np.abs(head - expected).max() > resolution + 0.05 * span / (n - 1):
        raise ValueError(
            f"{source}: its time column is not evenly spaced (a gap or a jump in the first "
            f"{len(head)} rows), so the recording is not one at a fixed rate. Cut it at the gap."
        )
    nearest = round(fs)
    if nearest and abs(fs - nearest) <= fs * 2 * resolution / span + 1e-9:
        fs = float(nearest)
    return round(fs, 3)


def _time_unit(name: str, units: str | None) -> str | None:
    for text in (units or "", name):
        t = text.lower()
        if re.search(r"\bms\b|msec|milli", t):
            return "ms"
        if re.search(r"\bs\b|\bsec|second|hh:mm|mm:ss", t):
            return "s"
    return None


def _read_text(
    path: Path, source: str, fs, lead, units: str | None, gain, baseline: float, delimiter,
    decimal,
) -> ECG:  # fmt: skip
    text, encoding = _decode(path.read_bytes(), source)
    lay = _layout(text, source, delimiter, decimal)
    names = lay.header
    if names is None:
        names = [""] * lay.n_fields
    if len(names) != lay.n_fields and lay.delimiter is not None:
        raise ValueError(
            f"{source}: the header names {len(names)} column(s) but the rows hold "
            f"{lay.n_fields}. Export it again with one name per column."
        )
    kinds = []
    for n in names:
        low = n.lower()
        kinds.append("time" if _TIME.match(low) else "sample" if _SAMPLE.match(low) else "lead")
    if lay.header is None and lay.n_fields > 1:
        kinds = _headerless_kinds(text, lay, source)
    lead_cols = [k for k, kind in enumerate(kinds) if kind == "lead"]
    if not lead_cols:
        raise ValueError(
            f"{source}: no column holds an ECG lead (columns: {', '.join(names)}). Expected a "
            "column of numbers such as 'MLII' or ' Sample Value'."
        )
    leads, name_units = [], {}
    for k in lead_cols:
        if lay.header is None:
            leads.append(f"column {k + 1}")
            continue
        m = _NAME_UNITS.match(names[k])
        leads.append(m.group(1) if m else names[k])
        if m:
            name_units[k] = m.group(2)
    col = lead_cols[_pick_lead(leads, lead, source)]
    name = leads[lead_cols.index(col)]
    time_col = kinds.index("time") if "time" in kinds else None
    sep = {None: "\t", " ": r"\s+"}.get(lay.delimiter, lay.delimiter)
    options = dict(
        sep=sep, decimal=lay.decimal, header=None, skiprows=lay.skip, skip_blank_lines=True,
        quotechar="'" if "'" in text[:2000] else '"', engine="c",
    )  # fmt: skip
    stream = io.StringIO(text)
    use = [col]  # the time column is read from the text: its first rows and its last
    try:  # the fast path: a clean column of numbers
        frame = pd.read_csv(stream, usecols=use, dtype={col: float}, **options)
        values = frame[col].to_numpy()
    except (ValueError, pd.errors.ParserError):
        frame, values = None, None
    if values is None or not np.isfinite(values).all():
        stream.seek(0)
        frame = pd.read_csv(stream, usecols=use, dtype=str, keep_default_na=False, **options)
        raw = frame[col].str.strip().str.strip("'\"")
        if lay.decimal == ",":
            raw = raw.str.replace(",", ".", regex=False)
        values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(values)
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            line = lay.skip + 1 + k  # blank lines inside the data are not counted
            shown = frame[col].iloc[k].strip() or "(empty)"
            raise ValueError(
                f"{source}, line {line}: {shown!r} in column {name!r} is not a number "
                f"({int(bad.sum()):,} such value(s)). Remove or fill them, then try again."
            )
    row_units = None
    if lay.units_row is not None and col < len(lay.units_row) and lay.units_row[col]:
        row_units = lay.units_row[col]
    row_units = row_units or name_units.get(col)
    if units is None and row_units is not None and row_units.lower() not in UNIT_FACTORS:
        raise ValueError(
            f"{source}: the units row says {row_units!r} for {name!r}; pass --units (mV, uV, V, "
            "or adc with --gain)."
        )
    # the rate: the time column, else a comment line, else the caller
    stated, where = None, None
    if time_col is not None:
        first, final = _time_tokens(text, lay, time_col)
        try:
            head, resolution, clock = _times(first, lay.decimal)
            last = _times([final], lay.decimal)[0][0]
        except ValueError as exc:
            raise ValueError(
                f"{source}: {exc} (column {names[time_col]!r}). Fix it, or remove the time "
                "column and pass the sampling rate (--fs)."
            ) from None
        unit = "s" if clock else _time_unit(
            names[time_col], lay.units_row[time_col] if lay.units_row else None
        )  # fmt: skip
        stated = _rate_from_times(head, last, len(values), resolution, unit, source)
        where = "time column"
        if stated is None and fs is None and lay.rate is None:
            raise ValueError(
                f"{source}: its column {names[time_col]!r} counts 0, 1, 2, ... without a unit: "
                "milliseconds (1000 Hz) or sample numbers? Pass the sampling rate (--fs)."
            )
        if stated is None:
            stated, where = lay.rate, "comment line"
        elif lay.rate is not None and abs(lay.rate - stated) > 1e-3 * stated:
            raise ValueError(
                f"{source}: its comment line says {lay.rate:g} Hz but its time column "
                f"{stated:g} Hz. Correct the one that is wrong."
            )
    elif lay.rate is not None:
        stated, where = lay.rate, "comment line"
    if stated is not None:
        rate, fs_source = _agree(fs, stated, where, source), where
    elif fs is None:
        raise ValueError(
            f"{source} does not state its sampling rate (no time column, no rate in a comment "
            "line): pass the "
            "rate it was recorded at, e.g. --fs 360 for MIT-BIH or --fs 250 (on the page: the "
            "sampling-rate box)."
        )
    else:
        rate, fs_source = _check_fs(fs), "given"
    chosen = units or row_units or "mV"
    values = _to_mv(values, chosen, gain, baseline)
    return ECG(values, rate, name, source, leads, fs_source, encoding)


def _time_tokens(text: str, lay: _Layout, col: int, n: int = 2000) -> tuple[list[str], str]:
    """The time column's first ``n`` stamps and its last one, read from the text (parsing
    every stamp of a 30-minute export would double the reading time)."""
    rows = []
    for line in io.StringIO(text[: 200 * n + _HEAD_CHARS]).readlines()[lay.skip :]:
        if line.strip():
            rows.append(line)
            if len(rows) == n:
                break
    tail = text.rstrip().rsplit("\n", 1)[-1]
    field = [_split(r.strip("\r\n"), lay.delimiter) for r in [*rows, tail]]
    if any(len(f) <= col for f in field):
        raise ValueError("a row has no time stamp")
    return [f[col] for f in field[:-1]], field[-1][col]


def _headerless_kinds(text: str, lay: _Layout, source: str) -> list[str]:
    """Without a header: a first column of evenly spaced, increasing numbers or clock stamps is
    time (or, counting 0, 1, 2, ..., sample numbers); every other column is a lead."""
    rows = [r for r in text[:_HEAD_CHARS].splitlines()[lay.skip :][:_HEAD_ROWS] if r.strip()]
    firsts = [_split(r, lay.delimiter)[0] for r in rows]
    try:
        t, _, clock = _times(firsts, lay.decimal)
    except ValueError:
        return ["lead"] * lay.n_fields
    step = np.diff(t)
    rest = ["lead"] * (lay.n_fields - 1)
    if len(t) > 2 and (step > 0).all() and np.ptp(step) <= 0.05 * step.mean() + 1e-3:
        counting = not clock and np.allclose(step, 1) and np.allclose(t, np.round(t))
        return ["sample" if counting else "time", *rest]
    return ["lead"] * lay.n_fields


# --------------------------------------------------------------------------------------------
# Every format


def read_text_ecg(
    path: str | os.PathLike,
    *,
    fs: float | None = None,
    lead: str | int | None = None,
    units: str | None = None,
    gain: float | None = None,
    baseline: float = 0.0,
    name: str | None = None,
    delimiter: str | None = None,
    decimal: str | None = None,
) -> ECG:
    """Read one lead of an ECG text export (the module docstring lists what it reads).

    Parameters
    ----------
    path : path
        A text export (``.csv``, ``.txt``, ``.tsv``, ...).
    fs : float, optional
        Sampling rate, Hz. Needed when the file does not state it; refused when it contradicts
        the file (its time column or rate comment).
    lead : str or int, optional
        Lead name (case-insensitive) or index among the leads; default MLII, else the first.
    units : str, optional
        ``mV``, ``uV``, ``V``, or ``adc`` (raw converter units, with ``gain`` in ADC units per mV
        and ``baseline`` in ADC units). Default: the file's units row or the units written after
        the lead's name (``MLII (uV)``), else mV.
    name : str, optional
        How the file is named in messages (default: its file name).
    delimiter, decimal : str, optional
        For a text file that does not make them clear: ``"comma"``, ``"semicolon"``, ``"tab"``
        or ``"space"``; ``"point"`` or ``"comma"``. Found from the file when not given.

    Returns
    -------
    ECG
    """
    path = Path(path)
    source = name or path.name
    if not path.is_file():
        raise FileNotFoundError(f"No file {str(path)!r}: check the path.")
    size = path.stat().st_size
    if size == 0:
        raise ValueError(f"{source} is empty: export the ECG as a CSV with one number per row.")
    if size > MAX_FILE_BYTES:
        raise ValueError(
            f"{source} is {size / 2**20:.0f} MB, over the {MAX_FILE_BYTES / 2**20:.0f} MB limit: "
            "cut the recording into shorter files (30 minutes at 360 Hz is about 10 MB)."
        )
    for option, allowed in ((delimiter, DELIMITERS), (decimal, DECIMALS)):
        if option is not None and option not in allowed and option not in allowed.values():
            raise ValueError(f"{option!r} is not one of {', '.join(allowed)}.")
    ecg = _read_text(path, source, fs, lead, units, gain, baseline, delimiter, decimal)
    _check_signal(ecg)
    return ecg


def _check_signal(ecg: ECG) -> None:
    x = ecg.signal
    if len(x) < 2 * ecg.fs:
        raise ValueError(
            f"{ecg.source}: {len(x):,} samples at {ecg.fs:g} Hz is {ecg.duration_s:.2f} s; at "
            f"least {MIN_BEATS} beats are needed (about 3 s or more)."
        )
    ptp = float(np.ptp(x))
    if ptp < MIN_PTP_MV:
        raise ValueError(
            f"{ecg.source}: lead {ecg.lead} is a flat line (peak-to-peak {ptp:.3g} mV): check "
            "that the electrode was connected and that you chose the right column."
        )
    if ptp > MAX_PTP_MV:
        raise ValueError(
            f"{ecg.source}: lead {ecg.lead} spans {ptp:,.0f} units, too much for mV: these look "
            "like raw ADC units; pass --units adc --gain G (MIT-BIH: 200 per mV, baseline 1024)."
        )


def ecg_from_array(signal, fs: float, *, lead: str = "signal") -> ECG:
    """An :class:`ECG` from an array in mV sampled at ``fs`` Hz (checked like a file)."""
    x = np.asarray(signal, dtype=float)
    if x.ndim != 1 or not np.isfinite(x).all():
        raise ValueError("The signal must be a 1-D array of finite numbers (mV).")
    ecg = ECG(x, _check_fs(fs), lead, lead, [lead])
    _check_signal(ecg)
    return ecg
