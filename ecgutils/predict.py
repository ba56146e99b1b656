"""Deployment: a raw ECG in, every beat's class and sample range out (notebook 09).

:func:`read_ecg` reads one lead from a file:

- a CSV with one numeric column and a header (the original app's sample file: one column named
  ``" Sample Value"``, leading space included);
- a CSV with a time column and several leads, optionally followed by a units row (PhysioNet's
  export: ``'Elapsed time','MLII','V5'`` then ``'hh:mm:ss.mmm','mV','mV'``); the lead is chosen
  by name or by index among the leads (default: MLII if there is one, else the first lead);
- a headerless column of numbers;
- a WFDB record (``.hea`` with its ``.dat``; its sampling rate and units come from the header).

:func:`predict_ecg` resamples the lead to the model's 360 Hz, finds the R peaks, cuts and draws
each beat as the model was trained (segmentation rule, image size, RR features) and classifies
it. Sample numbers in the result are in the *input's own* numbering (its sampling rate, first
sample 0). :func:`classify_file` does both; the notebook app, the Voila page and
``python -m ecgutils predict`` all call it, so they give the same answer.

The model is the one shipped in ``ecgutils/resources/model/`` (:func:`load_deployed_model`),
with its card (classes, training data, measured figures); ``python -m ecgutils ship-model``
retrains and replaces it.

Bad input raises ``ValueError`` (or ``FileNotFoundError``) with a message that says what is
wrong and how to fix it; nothing is written anywhere.
"""

from __future__ import annotations

import io
import json
import os
import re
import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd

from .backend import import_keras
from .classes import scheme_table
from .config import MITDB_FS

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
#: Where the shipped model and its card live.
MODEL_DIR = Path(__file__).parent / "resources" / "model"
#: Environment variable naming another model folder (one written by ``ship-model --out``).
MODEL_ENV = "ECG_MODEL_DIR"
#: Column names that are not leads (time stamps, sample numbers), compared lower-case.
_NON_LEADS = re.compile(r"^(.*time.*|sample ?#?|samples|index|t|t \(s\)|seconds?)$")


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
    """

    signal: np.ndarray
    fs: float
    lead: str
    source: str = "signal"
    leads: list[str] = field(default_factory=list)

    @property
    def duration_s(self) -> float:
        return len(self.signal) / self.fs


def _clean(name: str) -> str:
    return str(name).strip().strip("'\"").strip()


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


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


def _read_csv(
    path: Path, source: str, text_head: list[str], lead, units: str | None, gain, baseline: float
) -> tuple[np.ndarray, str, list[str]]:
    """One lead of a CSV file, in mV: (values, lead name, all lead names); ``source`` names the
    file in messages."""
    first = [t for t in text_head[0].split(",")]
    header = not all(_is_number(t) for t in first if t.strip())
    if header:
        names = [_clean(t) for t in first]
        lead_cols = [k for k, n in enumerate(names) if not _NON_LEADS.match(n.lower())]
        if not lead_cols:
            raise ValueError(
                f"{source}: no column holds an ECG lead (columns: {', '.join(names)}). Expected a "
                "column of numbers such as 'MLII' or ' Sample Value'."
            )
        leads = [names[k] for k in lead_cols]
    else:
        lead_cols = list(range(len(first)))
        leads = [f"column {k + 1}" for k in lead_cols]
    col = lead_cols[_pick_lead(leads, lead, source)]
    name = leads[lead_cols.index(col)]
    skip, row_units = [], None
    if header and len(text_head) > 1:
        second = [_clean(t) for t in text_head[1].split(",")]
        if col < len(second) and second[col] and not _is_number(second[col]):
            skip, row_units = [1], second[col]  # a units row, as in PhysioNet's exports
    options = {"header": 0 if header else None, "skiprows": skip, "usecols": [col]}
    try:  # the fast path: a clean column of numbers
        values = pd.read_csv(path, dtype=float, **options).iloc[:, 0].to_numpy()
    except ValueError:
        values = None
    if values is None or not np.isfinite(values).all():
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False, **options)
        raw = frame.iloc[:, 0].str.strip().str.strip("'\"")
        values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(values)
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            line = k + 1 + (1 if header else 0) + len(skip)
            shown = raw.iloc[k] if raw.iloc[k] else "(empty)"
            raise ValueError(
                f"{source}, line {line}: {shown!r} in column {name!r} is not a number "
                f"({int(bad.sum()):,} such value(s)). Remove or fill them, then try again."
            )
    chosen = units or row_units or "mV"
    if units is None and row_units is not None and row_units.lower() not in UNIT_FACTORS:
        raise ValueError(
            f"{source}: the units row says {row_units!r} for {name!r}; pass --units (mV, uV, V, "
            "or adc with --gain)."
        )
    return _to_mv(values, chosen, gain, baseline), name, leads


def read_ecg(
    path: str | os.PathLike,
    *,
    fs: float | None = None,
    lead: str | int | None = None,
    units: str | None = None,
    gain: float | None = None,
    baseline: float = 0.0,
    name: str | None = None,
) -> ECG:
    """Read one lead of an ECG file (module docstring lists the formats).

    Parameters
    ----------
    path : path
        A ``.csv`` (or ``.txt``) file, or a WFDB record (``rec.hea``, ``rec.dat`` or ``rec``).
    fs : float, optional
        Sampling rate, Hz. CSV: default 360. WFDB: the header's; a different value is an error.
    lead : str or int, optional
        Lead name (case-insensitive) or index among the leads; default MLII, else the first.
    units : str, optional
        ``mV`` (default), ``uV``, ``V``, or ``adc`` (raw converter units, with ``gain`` in ADC
        units per mV and ``baseline`` in ADC units). A CSV units row is used when not given.
    name : str, optional
        How the file is named in messages (default: its file name).

    Returns
    -------
    ECG
    """
    path = Path(path)
    source = name or path.name
    if path.suffix.lower() in (".hea", ".dat") or (
        not path.suffix and path.with_suffix(".hea").is_file()
    ):
        return _read_wfdb(path, fs, lead, source)
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
    with open(path, encoding="utf-8", errors="replace") as f:
        head = []
        for line in f:
            if line.strip():
                head.append(line.rstrip("\r\n"))
            if len(head) == 2:
                break
    if not head:
        raise ValueError(f"{source} holds no data, only blank lines.")
    values, lead_name, leads = _read_csv(path, source, head, lead, units, gain, baseline)
    ecg = ECG(values, _check_fs(MITDB_FS if fs is None else fs), lead_name, source, leads)
    _check_signal(ecg)
    return ecg


def _read_wfdb(path: Path, fs, lead, source: str) -> ECG:
    import wfdb

    base = path.with_suffix("") if path.suffix.lower() in (".hea", ".dat") else path
    if not base.with_suffix(".hea").is_file():
        raise FileNotFoundError(f"No WFDB header {str(base.with_suffix('.hea'))!r}.")
    try:
        rec = wfdb.rdrecord(str(base))
    except Exception as exc:  # wfdb raises many kinds for a damaged record
        raise ValueError(f"{source}: cannot read it as a WFDB record ({exc}).") from None
    leads = [str(x) for x in rec.sig_name]
    k = _pick_lead(leads, lead, source)
    if fs is not None and abs(float(fs) - rec.fs) > 1e-6:
        raise ValueError(
            f"{source} says it was sampled at {rec.fs:g} Hz, not {float(fs):g} Hz: leave the "
            "sampling rate out for WFDB records."
        )
    values = _to_mv(rec.p_signal[:, k].astype(float), rec.units[k] or "mV", None, 0.0)
    ecg = ECG(values, _check_fs(rec.fs), leads[k], source, leads)
    if not np.isfinite(ecg.signal).all():
        raise ValueError(f"{source}: lead {leads[k]} has missing samples (NaN).")
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


def ecg_from_array(signal, fs: float = MITDB_FS, *, lead: str = "signal") -> ECG:
    """An :class:`ECG` from an array in mV (checked like a file)."""
    x = np.asarray(signal, dtype=float)
    if x.ndim != 1 or not np.isfinite(x).all():
        raise ValueError("The signal must be a 1-D array of finite numbers (mV).")
    ecg = ECG(x, _check_fs(fs), lead, lead, [lead])
    _check_signal(ecg)
    return ecg


def resample(signal: np.ndarray, fs: float, target: float = MITDB_FS) -> np.ndarray:
    """``signal`` at ``fs`` Hz resampled to ``target`` Hz (polyphase, anti-aliased)."""
    if abs(fs - target) < 1e-9:
        return np.asarray(signal, dtype=float)
    from scipy.signal import resample_poly

    ratio = Fraction(target / fs).limit_denominator(1000)
    return resample_poly(np.asarray(signal, dtype=float), ratio.numerator, ratio.denominator)


@dataclass
class DeployedModel:
    """A trained Keras model with its card (what it was trained on and how it was cut)."""

    model: object
    card: dict
    path: Path

    @property
    def classes(self) -> list[str]:
        return list(self.card["classes"])


def load_deployed_model(path: str | os.PathLike | None = None) -> DeployedModel:
    """The model in ``path``, else in ``$ECG_MODEL_DIR``, else the shipped one
    (``ecgutils/resources/model/``); folders are written by
    :func:`ecgutils.experiments.ship_model`."""
    keras = import_keras()

    folder = Path(path or os.environ.get(MODEL_ENV) or MODEL_DIR)
    model_file, card_file = folder / "model.keras", folder / "card.json"
    if not model_file.is_file() or not card_file.is_file():
        raise FileNotFoundError(
            f"No model in {folder}: run `python -m ecgutils ship-model` to train and save one."
        )
    card = json.loads(card_file.read_text())
    return DeployedModel(keras.saving.load_model(model_file, compile=False), card, folder)


@dataclass
class Prediction:
    """What :func:`predict_ecg` found in one recording.

    Attributes
    ----------
    beats : DataFrame
        One row per classified beat: ``beat`` (1, 2, ...), ``start``, ``end`` (exclusive) and
        ``r`` in the input's own sample numbering, ``class`` (code), ``label`` (short name),
        ``probability`` (of that class).
    summary : DataFrame
        Per class of the model: ``beats`` and ``share (%)``.
    ecg : ECG
    seconds : dict
        Time spent resampling, detecting, drawing and classifying.
    """

    beats: pd.DataFrame
    summary: pd.DataFrame
    ecg: ECG
    seconds: dict

    def lines(self) -> list[str]:
        """One sentence per beat, as the original app printed them."""
        return [
            f"beat {b.beat} from sample {b.start} to {b.end - 1}: {b.label} ({b.probability:.2f})"
            for b in self.beats.itertuples()
        ]

    def to_json(self) -> str:
        return json.dumps(
            {
                "source": self.ecg.source,
                "lead": self.ecg.lead,
                "fs": self.ecg.fs,
                "samples": len(self.ecg.signal),
                "beats": self.beats.to_dict(orient="records"),
                "summary": self.summary.reset_index().to_dict(orient="records"),
            },
            indent=1,
        )


def predict_ecg(ecg: ECG, model: DeployedModel | None = None, *, detector: str | None = None):
    """Classify every beat of ``ecg`` (module docstring). Returns a :class:`Prediction`."""
    from .dataset import network_inputs
    from .detect import detect_rpeaks
    from .render import render_beats
    from .segment import segment_beats

    model = model or load_deployed_model()
    card = model.card
    cfg = card["config"]
    if cfg.get("template") or cfg.get("rhythm") or cfg.get("relative_rr"):
        raise ValueError(
            "This model needs the patient's template or rhythm features, which deployment does "
            "not compute yet: ship a model of a profile's default configuration."
        )
    fs = float(card.get("fs", MITDB_FS))
    seconds = {}
    t0 = time.perf_counter()
    x = resample(ecg.signal, ecg.fs, fs)
    t1 = time.perf_counter()
    seconds["resample"] = t1 - t0
    peaks = detect_rpeaks(x, fs, detector or card["detector"], refine=True)
    t2 = time.perf_counter()
    seconds["detect"] = t2 - t1
    table = segment_beats(peaks, len(x), fs, rule=card["rule"])
    if len(table) < MIN_BEATS:
        raise ValueError(
            f"{ecg.source}: found {len(table)} complete beat(s) in {ecg.duration_s:.1f} s of lead "
            f"{ecg.lead}; at least {MIN_BEATS} are needed. Is the recording long enough, the "
            "sampling rate right and the lead an ECG?"
        )
    table.insert(0, "record", ecg.source)
    starts, ends = table["start"].to_numpy(), table["end"].to_numpy()
    images = render_beats(
        x, starts, ends, size=card["image_size"], line_width=card["line_width"],
        scale=card["scale"],
    )  # fmt: skip
    inputs = network_inputs(images, table, rr=cfg["rr"])
    t3 = time.perf_counter()
    seconds["draw"] = t3 - t2
    probs = _classify(model.model, inputs, len(images))
    seconds["classify"] = time.perf_counter() - t3
    classes = model.classes
    names = scheme_table(card["scheme"])["name"]
    k = probs.argmax(axis=1)
    back = ecg.fs / fs  # model samples -> input samples

    def to_input(s):
        return np.rint(np.asarray(s) * back).astype(np.int64)

    n_in = len(ecg.signal)
    beats = pd.DataFrame(
        {
            "beat": np.arange(1, len(table) + 1),
            "start": np.clip(to_input(starts), 0, n_in - 1),
            "end": np.clip(to_input(ends), 1, n_in),
            "r": np.clip(to_input(table["r"]), 0, n_in - 1),
            "class": [classes[i] for i in k],
            "label": [names[classes[i]] for i in k],
            "probability": probs[np.arange(len(k)), k].round(4),
        }
    )
    counts = beats["class"].value_counts().reindex(classes, fill_value=0)
    summary = pd.DataFrame(
        {"label": [names[c] for c in classes], "beats": counts.to_numpy()}, index=classes
    )
    summary["share (%)"] = (100 * summary["beats"] / max(len(beats), 1)).round(2)
    summary.index.name = "class"
    summary.attrs["scheme"] = card["scheme"]
    return Prediction(beats, summary, ecg, seconds)


#: Beats classified per call: every call has this shape (the last one padded), so the network's
#: kernels are prepared once, not again for every file length. Small calls are faster here than
#: large ones (measured with ``bench predict`` on 2 cores: 128 and 64 beats per call classify
#: record 100 in 2.1 s, 256 in 2.6 s, 1024 in 3.7 s, 32 in 2.6 s).
CHUNK = 128


def _classify(net, inputs: dict, n: int) -> np.ndarray:
    out = []
    for i in range(0, n, CHUNK):
        part = {k: v[i : i + CHUNK] for k, v in inputs.items()}
        m = len(part["image"])
        if m < CHUNK:
            part = {k: np.concatenate([v, np.zeros((CHUNK - m, *v.shape[1:]), v.dtype)])
                    for k, v in part.items()}  # fmt: skip
        out.append(np.asarray(net.predict_on_batch(part))[:m])
    return np.concatenate(out)


def classify_file(
    path: str | os.PathLike, *, model: DeployedModel | None = None, **options
) -> Prediction:
    """:func:`read_ecg` (``options``: fs, lead, units, gain, baseline, name) then
    :func:`predict_ecg`: what every face of the app calls."""
    return predict_ecg(read_ecg(path, **options), model)


def classify_bytes(data: bytes, filename: str, **options) -> Prediction:
    """:func:`classify_file` on uploaded bytes (the widget app): written to a private temporary
    file that is always removed, also on error."""
    import tempfile

    if len(data) > MAX_FILE_BYTES:
        raise ValueError(
            f"{filename} is {len(data) / 2**20:.0f} MB, over the "
            f"{MAX_FILE_BYTES / 2**20:.0f} MB limit: cut the recording into shorter files."
        )
    suffix = Path(filename).suffix.lower() or ".csv"
    if suffix in (".hea", ".dat"):
        raise ValueError("Upload a CSV file; WFDB records need the command line or read_ecg().")
    with tempfile.TemporaryDirectory(prefix="ecg-upload-") as tmp:
        path = Path(tmp) / f"upload{suffix}"
        path.write_bytes(data)
        return classify_file(path, name=filename, **options)


def export_csv(
    signal: np.ndarray, fs: float, path_or_buffer, *, lead: str = "MLII", style: str = "physionet"
) -> None:
    """Write a signal (mV) as a CSV: ``physionet`` (time, lead, units row), or ``single``
    (one column named ``" Sample Value"``, the original app's sample file)."""
    x = np.asarray(signal, dtype=float)
    if style == "single":
        text = " Sample Value\n" + "\n".join(f"{v:.3f}" for v in x) + "\n"
    elif style == "physionet":
        t = np.arange(len(x)) / fs
        stamps = [f"'{int(s // 60)}:{s % 60:06.3f}'" for s in t]
        rows = "\n".join(f"{s},{v:.3f}" for s, v in zip(stamps, x))
        text = f"'Elapsed time','{lead}'\n'hh:mm:ss.mmm','mV'\n{rows}\n"
    else:
        raise ValueError(f"style must be 'physionet' or 'single', got {style!r}.")
    if isinstance(path_or_buffer, io.TextIOBase):
        path_or_buffer.write(text)
    else:
        Path(path_or_buffer).write_text(text)


#: R-peak detector of shipped models, with the T-wave check. Not gqrs, the best detector of
#: chapter 02 at *finding* beats: it marks a point a few samples off the annotated R peak, so the
#: windows it cuts differ from the training ones (record 100, quick model: classes agree with the
#: reference on 98.5% of beats with gqrs, 99.9% with hamilton), and it is about 3x slower.
DEFAULT_DETECTOR = "hamilton"


def model_card_text(card: dict) -> str:
    """The card as Markdown, for people."""
    names = card["class names"]
    lines = [
        "# Model card: the course's deployed beat classifier",
        "",
        f"- **Model:** {card['model']}; input: one {card['image_size']}x{card['image_size']} beat "
        f"image ({card['scale']} scale, segmentation rule `{card['rule']}`)"
        f"{' and RR-interval features' if card['config']['rr'] else ''}.",
        "- **Classes:** " + ", ".join(f"{c} ({names[c]})" for c in card["classes"]) + ".",
        f"- **Signal:** one lead (MLII-like), resampled to {card['fs']} Hz; R peaks found by "
        f"`{card['detector']}` with the T-wave check.",
        f"- **Training data:** {card['training data']['database']}; profile "
        f"`{card['training data']['profile']}`, {card['training data']['records']} records, "
        f"beats {card['training data']['beats']}; data fingerprint "
        f"`{card['training data']['data fingerprint']}`.",
        f"- **Trained:** {card['trained']} with Keras {card['keras']}; "
        f"retrain and replace with `{card['command']}`.",
        "",
        "## Measured figures (%)",
        "",
    ]
    for protocol, fig in card["measured"].items():
        lines.append(
            f"**{protocol}:** accuracy {fig['accuracy']:.2f}, macro sensitivity "
            f"{fig['macro sensitivity']:.2f} over {fig['test beats']:,} test beats. Per class "
            "(Se / +P): "
            + "; ".join(
                f"{c} {se:.1f} / {ppv:.1f}" for c, (se, ppv) in fig["per class Se / +P"].items()
            )
            + "."
        )
        lines.append("")
    lines += [
        "## Use and limits",
        "",
        "- For teaching. Not a medical device; do not use it to make clinical decisions.",
        "- Expect the *new patients* figures on recordings of people outside MIT-BIH, not the",
        "  *seen patients* ones: the hold-out puts beats of the same patients on both sides.",
        "- Beats are found by a detector, not by a cardiologist: missed or extra beats change the",
        "  RR features of their neighbours. Noisy stretches give unreliable classes.",
        "",
    ]
    return "\n".join(lines)


def agreement(pred: Prediction, record) -> dict:
    """How a prediction on an MIT-BIH record agrees with its reference annotations.

    Detected beats are matched to reference beats within 150 ms (EC57); a matched beat agrees
    when its predicted class is the reference beat's class in the model's scheme (reference
    beats outside the scheme are left out). The prediction must come from the record's first
    samples at the record's own rate (a CSV exported from it); reference beats after its last
    sample are not counted.

    Returns
    -------
    dict
        ``detected``, ``reference`` (beats), ``matched``, ``scored`` (matched beats with a class
        in the scheme), ``agree`` (count) and ``agreement`` (fraction of ``scored``).
    """
    from .classes import symbol_map
    from .segment import match_to_reference

    if abs(pred.ecg.fs - record.fs) > 1e-6:
        raise ValueError(
            f"The prediction is at {pred.ecg.fs:g} Hz and the record at {record.fs:g} Hz: "
            "compare a CSV exported at the record's own rate."
        )
    inside = record.beats.sample < len(pred.ecg.signal)  # the stretch that was exported
    ref_sample, ref_symbol = record.beats.sample[inside], record.beats.symbol[inside]
    idx = match_to_reference(pred.beats["r"].to_numpy(), ref_sample, record.fs)
    matched = idx >= 0
    codes = symbol_map(pred.summary.attrs.get("scheme", "paper8"))
    truth = np.array([codes.get(s, "") for s in ref_symbol[idx[matched]]])
    scored = truth != ""
    agree = int((pred.beats["class"].to_numpy()[matched][scored] == truth[scored]).sum())
    return {
        "detected": len(pred.beats),
        "reference": len(ref_sample),
        "matched": int(matched.sum()),
        "scored": int(scored.sum()),
        "agree": agree,
        "agreement": agree / max(int(scored.sum()), 1),
    }
