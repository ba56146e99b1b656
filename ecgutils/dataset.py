"""From a profile to arrays: every beat of its records as an image, with its labels.

:func:`build_dataset` loads the records, segments them, renders every beat and returns a
:class:`BeatDataset`. The result is kept in the store (:mod:`ecgutils.store`,
``data/cache/beats/``), keyed by everything that changes the arrays (records and their
checksums, rule, image size, scaling, line width, the code that draws them, library versions),
so a notebook asking again gets it in a fraction of a second, and changing any option builds a
new one.

Source: chapter 09 (``notebooks/09_giving_back.ipynb``) writes :func:`reference_beats` (cells
marked ``#| export``; a test fails when chapter and package differ).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from . import store
from .classes import SCHEMES, scheme_classes
from .config import Profile, get_profile
from .data import check_record_names, expected_checksums, fetch, load_record
from .render import FIXED_RANGE_MV, PATIENT_RANGE, patient_normalize, render_beats
from .segment import FIXED_WINDOW_S, segment_record

#: Scales a data set can be drawn with: the renderer's, and ``patient`` (see
#: :func:`ecgutils.render.patient_normalize`): baseline removed, heights in units of the record's
#: typical beat, drawn over :data:`ecgutils.render.PATIENT_RANGE`, plus one template image per
#: record.
DATASET_SCALES: tuple[str, ...] = ("minmax", "fixed", "patient")


@dataclass
class BeatDataset:
    """Beat images and their table.

    Attributes
    ----------
    images : (n, size, size) uint8 array
        One image per beat, 255 = background.
    beats : DataFrame
        One row per image: the beat table of :func:`ecgutils.segment.segment_record`
        (record, r, start, end in samples at 360 Hz; RR intervals in s; labels per scheme).
    params : dict
        The parameters the arrays were built with (and the cache key).
    timings : dict
        Seconds spent loading, segmenting, rendering (empty when read from the cache).
    templates : (n_records, size, size) uint8 array or None
        With ``scale="patient"``: each record's median beat, drawn like its beats, in the
        order of ``params["records"]``.
    """

    images: np.ndarray
    beats: pd.DataFrame
    params: dict
    timings: dict = field(default_factory=dict)
    templates: np.ndarray | None = None

    def template_index(self) -> np.ndarray:
        """(n,) int64: row of :attr:`templates` (the beat's record) for every image."""
        order = {name: k for k, name in enumerate(self.params["records"])}
        return self.beats["record"].astype(str).map(order).to_numpy(dtype=np.int64)

    def __len__(self) -> int:
        return len(self.images)

    def labels(self, scheme: str) -> np.ndarray:
        """(n,) int64 class index per image under ``scheme`` (-1: not in the scheme)."""
        return self.beats[scheme].to_numpy(dtype=np.int64)

    @property
    def rr(self) -> np.ndarray:
        """(n, 4) float32: RR before, after, local mean and record mean of each beat, seconds."""
        cols = ["rr_prev_s", "rr_next_s", "rr_local_s", "rr_mean_s"]
        return self.beats[cols].to_numpy(dtype=np.float32)

    def class_counts(self, scheme: str) -> pd.Series:
        """Images per class of ``scheme``."""
        lab = self.labels(scheme)
        counts = np.bincount(lab[lab >= 0], minlength=len(scheme_classes(scheme)))
        return pd.Series(counts, index=scheme_classes(scheme), name="images")


def dataset_params(
    profile: Profile | str | None = None,
    *,
    records: Iterable[str | int] | None = None,
    rule: str | None = None,
    size: int | None = None,
    scale: str | None = None,
    line_width: float | None = None,
) -> dict:
    """The parameters of a data set: the profile's, with any given option overriding them."""
    prof = get_profile(profile)
    names = check_record_names(prof.records if records is None else records)
    scale = scale or prof.scale
    if scale not in DATASET_SCALES:
        raise ValueError(f"Unknown scale {scale!r}; choose one of {', '.join(DATASET_SCALES)}.")
    sums = expected_checksums()
    fingerprint = hashlib.sha256(
        "".join(sums[f"{r}.{e}"] for r in names for e in ("hea", "dat", "atr")).encode()
    ).hexdigest()[:16]
    return {
        "records": names,
        "rule": rule or prof.rule,
        "neighbours": "beats",
        "window_s": list(FIXED_WINDOW_S),
        "size": int(size or prof.image_size),
        "scale": scale,
        "mv_range": list(PATIENT_RANGE if scale == "patient" else FIXED_RANGE_MV),
        "line_width": float(line_width or prof.line_width),
        "data_fingerprint": fingerprint,
        **({"template": "median of reference beats"} if scale == "patient" else {}),
    }


def dataset_spec(params: dict) -> store.Spec:
    """The store entry of the data set ``params`` describes (:func:`dataset_params`)."""
    label = f"{params['rule']}-{params['scale']}-{params['size']}px-{len(params['records'])}rec"
    return store.Spec(
        kind="beats",
        label=label,
        params=params,
        module=__name__,
        data=params["data_fingerprint"],
        libraries=("numpy", "scipy", "pandas", "wfdb", "opencv-python"),
    )


def cache_key(params: dict) -> str:
    """The store key of the data set ``params`` describes: what models built on it key on."""
    return dataset_spec(params).key


def _build(params: dict, progress: bool) -> BeatDataset:

    names = params["records"]
    fetch(names, progress=False)
    timings = {"load": 0.0, "segment": 0.0, "render": 0.0}

    def prepare(name):
        t0 = time.perf_counter()
        rec = load_record(name, warn=False)  # the MLII fallback of 102 and 104 (chapter 01)
        t1 = time.perf_counter()
        table = segment_record(
            rec, params["rule"], neighbours=params["neighbours"], window_s=tuple(params["window_s"])
        )
        return rec, table, t1 - t0, time.perf_counter() - t1

    size = params["size"]
    with ThreadPoolExecutor(max_workers=min(2, os.cpu_count() or 1)) as pool:
        prepared = list(pool.map(prepare, names))
        tables = [t for _, t, _, _ in prepared]
        timings["load"] = sum(p[2] for p in prepared)
        timings["segment"] = sum(p[3] for p in prepared)
        offsets = np.cumsum([0] + [len(t) for t in tables])
        images = np.empty((offsets[-1], size, size), dtype=np.uint8)
        patient = params["scale"] == "patient"
        templates = np.empty((len(names), size, size), dtype=np.uint8) if patient else None
        bar = tqdm(
            total=int(offsets[-1]), desc="Rendering beats", unit="beat", disable=not progress
        )

        def render(i):
            rec, table = prepared[i][0], tables[i]
            starts, ends = table["start"].to_numpy(), table["end"].to_numpy()
            signal, scale = rec.signal, params["scale"]
            options = {"size": size, "line_width": params["line_width"]}
            options["mv_range"] = tuple(params["mv_range"])
            if patient:
                signal, template, _ = patient_normalize(
                    signal, starts, ends, rec.fs, reference=reference_beats(table)
                )
                scale = "fixed"
                render_beats(
                    template, [0], [len(template)], scale=scale, out=templates[i : i + 1], **options
                )
            out = images[offsets[i] : offsets[i + 1]]
            render_beats(signal, starts, ends, scale=scale, out=out, **options)
            bar.update(len(table))

        t0 = time.perf_counter()
        list(pool.map(render, range(len(names))))
        timings["render"] = time.perf_counter() - t0
        bar.close()
    beats = pd.concat(tables, ignore_index=True)
    return BeatDataset(images, beats, params, timings, templates)


def _save(ds: BeatDataset, folder: Path) -> None:
    np.save(folder / "images.npy", ds.images)
    if ds.templates is not None:
        np.save(folder / "templates.npy", ds.templates)
    ds.beats.to_csv(folder / "beats.csv", index=False)
    (folder / "params.json").write_text(json.dumps(ds.params, indent=1))


def _load(folder: Path) -> BeatDataset:
    beats = pd.read_csv(
        folder / "beats.csv",
        dtype={"record": str, "symbol": str},
        keep_default_na=False,
        na_values={c: [""] for c in ("rr_prev_s", "rr_next_s", "rr_local_s", "rr_mean_s")},
    )
    for scheme in SCHEMES:
        beats[scheme] = beats[scheme].astype(np.int8)
    images = np.load(folder / "images.npy")
    params = json.loads((folder / "params.json").read_text())
    templates = np.load(folder / "templates.npy") if (folder / "templates.npy").is_file() else None
    return BeatDataset(images, beats, params, templates=templates)


def build_dataset(
    profile: Profile | str | None = None,
    *,
    records: Iterable[str | int] | None = None,
    rule: str | None = None,
    size: int | None = None,
    scale: str | None = None,
    line_width: float | None = None,
    cache: bool = True,
    progress: bool = True,
) -> BeatDataset:
    """Every beat of a profile's records as a labelled image, cached.

    Parameters
    ----------
    profile : Profile or str, optional
        Default: the one ``ECG_PROFILE`` selects. Its records, rule, image size, scale and
        line width are used unless overridden by the keyword arguments.
    records, rule, size, scale, line_width
        Overrides; see :func:`ecgutils.segment.segment_beats` and
        :func:`ecgutils.render.render_beats`.
    cache : bool
        Read and write the store's entry (``data/cache/beats/<label>-<key>/``). ``False``
        always builds, writes nothing.
    progress : bool
        Show a progress bar while rendering.
    """
    params = dataset_params(
        profile, records=records, rule=rule, size=size, scale=scale, line_width=line_width
    )
    if not cache:
        return _build(params, progress)
    built = []

    def build(folder):
        built.append(_build(params, progress))
        _save(built[0], folder)

    folder, _ = store.get_or_build(dataset_spec(params), build)
    return built[0] if built else _load(folder)


def rr_features(beats: pd.DataFrame) -> np.ndarray:
    """RR-interval features of each beat, the compact CNN's second input.

    Columns: RR before, RR after, local mean RR (s); RR before and after relative to the local
    mean; RR before and local mean relative to the record's mean RR. A premature beat has a
    short RR before and a long one after; an escape beat the reverse. Missing values (first or
    last beat of a record) become the neutral value 1.

    Returns
    -------
    (n, 7) float32 array
    """
    prev, nxt = beats["rr_prev_s"].to_numpy(float), beats["rr_next_s"].to_numpy(float)
    local, mean = beats["rr_local_s"].to_numpy(float), beats["rr_mean_s"].to_numpy(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        feats = np.column_stack(
            [prev, nxt, local, prev / local, nxt / local, prev / mean, local / mean]
        )
    return np.nan_to_num(feats, nan=1.0, posinf=1.0, neginf=1.0).astype(np.float32)


#: Beats on each side of the window that measures how irregular the rhythm around a beat is.
RHYTHM_BEATS = 10
#: Columns of :func:`rhythm_features`.
N_RHYTHM_FEATURES = 4


def rhythm_features(beats: pd.DataFrame, fs: float = 360.0) -> np.ndarray:
    """How irregular the rhythm around each beat is: what tells a premature beat in a regular
    rhythm (likely S) from a normal beat in atrial fibrillation (irregular everywhere).

    Over the RR intervals within :data:`RHYTHM_BEATS` beats on either side of a beat (same
    record, beat table order), with ``d`` the absolute differences of successive intervals:

    0. median ``d`` / the record's mean RR
    1. median ``d`` / local mean RR
    2. share of ``d`` above 50 ms (as pNN50)
    3. share of ``d`` above 15% of the local mean RR

    All four are robust: a premature beat, or a pause, moves one or two ``d`` only. (Standard
    deviations of RR were tried and dropped: in record 232 long pauses make them larger than
    anything in DS1, and the models extrapolated wildly.) Windows with fewer than 5 intervals
    (record edges) give 0.

    Parameters
    ----------
    beats : DataFrame
        A beat table (``record``, ``r`` in samples).
    fs : float
        Sampling rate of ``r``, Hz.

    Returns
    -------
    (n, 4) float32 array
    """
    out = np.zeros((len(beats), N_RHYTHM_FEATURES), dtype=np.float32)
    if len(beats) == 0:
        return out
    r = beats["r"].to_numpy(dtype=float) / fs
    w = {"window": 2 * RHYTHM_BEATS + 1, "center": True, "min_periods": 5}
    for _, ix in beats.groupby(beats["record"].astype(str), sort=False).indices.items():
        rr = pd.Series(np.r_[np.nan, np.diff(r[ix])])
        d = rr.diff().abs()
        mean, local = rr.mean(), rr.rolling(**w).mean()
        jumps = d.rolling(**w).median()
        big = (d > 0.05).astype(float).where(d.notna()).rolling(**w).mean()
        rel = (d > 0.15 * local).astype(float).where(d.notna()).rolling(**w).mean()
        with np.errstate(invalid="ignore", divide="ignore"):
            cols = [jumps / mean, jumps / local, big, rel]
            out[ix] = np.column_stack([c.to_numpy() for c in cols]).astype(np.float32)
    return np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0)


def reference_beats(beats: pd.DataFrame) -> np.ndarray:
    """(n,) bool: beats that follow an RR interval at least as long as their record's median.

    Premature beats come early, so these are mostly the patient's own (sinus) beats even in a
    record where ectopic beats are the majority (record 232): the reference for the template
    beat and for :func:`relative_rr_features`. Needs no labels.
    """
    prev = beats["rr_prev_s"].to_numpy(dtype=float)
    med = beats.groupby(beats["record"].astype(str), sort=False)["rr_prev_s"].transform("median")
    with np.errstate(invalid="ignore"):
        return np.nan_to_num(prev) >= med.to_numpy(dtype=float)


def relative_rr_features(beats: pd.DataFrame) -> np.ndarray:
    """RR intervals relative to the patient's own rhythm only (no seconds), for new patients.

    Columns: RR before and after relative to the local mean; RR before and local mean relative
    to the record's mean; RR before, after and local mean relative to the record's *reference*
    RR, the mean RR before its :func:`reference_beats`. Absolute intervals in seconds tie a model
    to the heart rates of its training patients; on new patients they hurt (notebook 09).
    Missing values become the neutral value 1.

    Returns
    -------
    (n, 7) float32 array
    """
    prev, nxt = beats["rr_prev_s"].to_numpy(float), beats["rr_next_s"].to_numpy(float)
    local, mean = beats["rr_local_s"].to_numpy(float), beats["rr_mean_s"].to_numpy(float)
    ref_prev = pd.Series(np.where(reference_beats(beats), prev, np.nan), index=beats.index)
    ref = ref_prev.groupby(beats["record"].astype(str), sort=False).transform("mean")
    ref = ref.to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        feats = np.column_stack(
            [
                prev / local,
                nxt / local,
                prev / mean,
                local / mean,
                prev / ref,
                nxt / ref,
                local / ref,
            ]
        )
    return np.nan_to_num(feats, nan=1.0, posinf=1.0, neginf=1.0).astype(np.float32)


def beat_features(
    beats: pd.DataFrame, *, relative_rr: bool = False, rhythm: bool = False
) -> np.ndarray:
    """The feature input of the compact CNN for every beat of a table.

    Parameters
    ----------
    beats : DataFrame
        Beat table with the RR columns of :func:`ecgutils.segment.segment_beats` (a record's
        beats in order; several records may follow each other).
    relative_rr : bool
        :func:`relative_rr_features` instead of :func:`rr_features` (no seconds).
    rhythm : bool
        Append the 4 :func:`rhythm_features`.

    Returns
    -------
    (n, 7) or (n, 11) float32 array
    """
    feats = relative_rr_features(beats) if relative_rr else rr_features(beats)
    if rhythm:
        feats = np.column_stack([feats, rhythm_features(beats)])
    return feats.astype(np.float32)


def network_inputs(
    images: np.ndarray,
    beats: pd.DataFrame,
    index: np.ndarray | None = None,
    *,
    rr: bool = True,
    relative_rr: bool = False,
    rhythm: bool = False,
    templates: np.ndarray | None = None,
    template_index: np.ndarray | None = None,
) -> dict:
    """A network's inputs for beats ``index`` of a table: the one place training, evaluation,
    explanation and deployment build them.

    Parameters
    ----------
    images : (n, size, size) uint8 array
        Every beat's image, in the order of ``beats``.
    beats : DataFrame
        The beats' table (n rows); features are computed over all of it, then indexed, since
        rhythm features look at a beat's neighbours.
    index : (m,) int array, optional
        Which beats (default: all).
    rr, relative_rr, rhythm : bool
        Whether there is a feature input, and which (:func:`beat_features`).
    templates : (n_records, size, size) uint8 array, optional
        Each record's template image, added as a second channel ...
    template_index : (n,) int array, optional
        ... row of ``templates`` for every beat.

    Returns
    -------
    dict
        ``image``: ``(m, size, size, channels)`` float32; with ``rr``, ``rr``: ``(m, k)``
        float32.
    """
    idx = np.arange(len(images)) if index is None else np.asarray(index)
    x = images[idx][..., None].astype(np.float32)
    if templates is not None:
        if template_index is None:
            raise ValueError("templates need template_index: each beat's row of templates.")
        extra = templates[np.asarray(template_index)[idx]][..., None].astype(np.float32)
        x = np.concatenate([x, extra], axis=-1)
    out = {"image": x}
    if rr:
        out["rr"] = beat_features(beats, relative_rr=relative_rr, rhythm=rhythm)[idx]
    return out
