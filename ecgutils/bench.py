"""Benchmarks behind ``python -m ecgutils bench ...``: they measure, they never assert."""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass

import numpy as np

from .config import get_profile
from .data import check_record_names, load_record
from .dataset import build_dataset
from .render import readback_correlation, render_beat_reference, render_beats
from .segment import segment_record


@dataclass
class RenderBench:
    """Figures of :func:`bench_render`."""

    n_beats: int
    size: int
    reference_ms: float  # original path, ms per beat
    fast_ms: float  # fast path, ms per beat, same beats
    database_beats: int
    database_s: float  # whole-database arrays, seconds (load + segment + render)
    database_timings: dict

    @property
    def speedup(self) -> float:
        return self.reference_ms / self.fast_ms

    def __str__(self) -> str:
        t = self.database_timings
        return "\n".join(
            [
                f"Rendering {self.n_beats} real beats at {self.size}x{self.size}, both paths:",
                f"  original (matplotlib, PNG, cv2 Lanczos): {self.reference_ms:8.3f} ms/beat",
                f"  fast (ecgutils.render.render_beats):     {self.fast_ms:8.4f} ms/beat",
                f"  speed-up: {self.speedup:,.0f}x",
                f"Database, {self.database_beats:,} beats at {self.size}x{self.size}, "
                f"no cache: "
                f"{self.database_s:.1f} s (load {t['load']:.1f} s, segment {t['segment']:.1f} s, "
                f"render {t['render']:.1f} s; load and segment summed over 2 threads)",
                f"  at the original path's speed that would be "
                f"{self.reference_ms * self.database_beats / 60000:.0f} minutes",
            ]
        )


def bench_render(
    n_beats: int = 200, size: int = 128, repeats: int = 5, database_profile: str = "standard"
) -> RenderBench:
    """Time the original and the fast renderer on the same real beats, then the whole database.

    The beats are spread evenly over the quick profile's records (every paper8 class). The
    database figure builds the arrays of ``database_profile`` (all 48 records for
    ``standard``) at ``size``, without the cache.
    """
    tables = []
    for name in get_profile("quick").records:
        rec = load_record(name)
        table = segment_record(rec, "seed")
        tables.append((rec, table))
    per = max(1, n_beats // len(tables))
    picks = [(rec, t.iloc[np.linspace(0, len(t) - 1, per).astype(int)]) for rec, t in tables]
    n = sum(len(t) for _, t in picks)

    t0 = time.perf_counter()
    for rec, t in picks:
        for s, e in zip(t["start"], t["end"]):
            render_beat_reference(rec.signal[s:e], size)
    reference_ms = 1000 * (time.perf_counter() - t0) / n

    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        for rec, t in picks:
            render_beats(rec.signal, t["start"].to_numpy(), t["end"].to_numpy(), size=size)
        best = min(best, time.perf_counter() - t0)
    fast_ms = 1000 * best / n

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        t0 = time.perf_counter()
        ds = build_dataset(database_profile, size=size, cache=False, progress=False)
        database_s = time.perf_counter() - t0
    return RenderBench(n, size, reference_ms, fast_ms, len(ds), database_s, ds.timings)


def bench_readback(records=None, size: int = 128) -> str:
    """How well every beat's image keeps its waveform: read-back correlation over records.

    Renders the ``seed``-rule beats of the records (default: all 48) with the fast renderer
    and reports the distribution of :func:`ecgutils.render.readback_correlation`.
    """
    corr, worst = [], []
    for name in check_record_names(records):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            rec = load_record(name)
        t = segment_record(rec, "seed")
        s, e = t["start"].to_numpy(), t["end"].to_numpy()
        c = readback_correlation(render_beats(rec.signal, s, e, size=size), rec.signal, s, e)
        corr.append(c)
        worst.append((float(c.min()), name, int((c < 0.98).sum())))
    c = np.concatenate(corr)
    below = ", ".join(f"{n} ({k})" for _, n, k in sorted(worst) if k)
    return (
        f"Read-back correlation of {len(c):,} beats at {size}x{size}: min {c.min():.4f}, "
        f"1st percentile {np.percentile(c, 1):.4f}, median {np.median(c):.4f}\n"
        f"  beats below 0.98: {int((c < 0.98).sum())} (by record: {below or 'none'})"
    )
