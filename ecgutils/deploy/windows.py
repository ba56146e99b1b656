"""Windows over a long recording: what deployment reads at a time (chapter 10).

:func:`ecgutils.deploy.predict.predict_recording` reads a recording in windows of
:data:`WINDOW_S` (memory does not grow with the length) and describes each window's beats against
the :data:`REFERENCE_S` around it; :class:`Windows` does the sample arithmetic at the input's and
the model's rates, :func:`progress_bar` and :class:`StepTimes` report how far and how long.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from tqdm.auto import tqdm

#: Deployment reads and classifies a recording in windows of this length, s: peak memory does
#: not grow with the recording's length.
WINDOW_S = 600.0
#: Each beat's reference (the template beat, the patient's unit, the RR reference, the rhythm)
#: comes from the windows around it spanning this long, s: its own window. Chosen on DS1 alone
#: (``python -m ecgutils bench neighbourhood``: DS1's patient folds, each fold's records read
#: alone and joined into one recording by trees trained on the other folds): ten minutes scored
#: accuracy 94.91% against 94.20% for half an hour, S +P 34.2 against 26.8, V +P 83.3 against
#: 81.6, and beat the records read whole (94.41%); an hour fell to 93.39%. The models learnt from
#: half-hour records, each its own reference: a longer recording is read as ten-minute pieces.
REFERENCE_S = 600.0
#: Signal read beyond each window (for the detector to settle and for the beats at its edges), s.
MARGIN_S = 8.0
#: Two detections closer than this, one each side of a window's edge, are one beat, s.
REFRACTORY_S = 0.2
#: Threads that work windows at once: numpy, scipy and the trees let go of Python's lock for
#: most of their work, so two cores do a day in about two thirds of the time of one.
THREADS = min(2, os.cpu_count() or 1)
#: A long recording's second pass goes in blocks of at least this many windows, one per thread at
#: a time (each block prepares the windows around it too, so blocks are long).
BLOCK_WINDOWS = 12


@dataclass
class Windows:
    """How a recording of ``n_in`` samples at ``fs_in`` Hz is cut into windows of about
    ``window_s`` for a model at ``fs`` Hz: every edge falls on a whole sample at both rates.

    Attributes
    ----------
    edges : (k + 1,) int array
        Window edges, input samples: window ``i`` is ``edges[i]`` to ``edges[i + 1]``.
    n : int
        The recording's length at the model's rate.
    margin : int
        Input samples read beyond each side of a window (:data:`MARGIN_S`).
    """

    n_in: int
    fs_in: float
    fs: float
    window_s: float = WINDOW_S

    def __post_init__(self):
        ratio = Fraction(self.fs / self.fs_in).limit_denominator(1000)
        same = abs(self.fs - self.fs_in) < 1e-9
        self.up, self.down = (1, 1) if same else (ratio.numerator, ratio.denominator)
        k = max(1, round(self.n_in / (self.window_s * self.fs_in)))
        edges = [self.down * round(i * self.n_in / k / self.down) for i in range(k)]
        self.edges = np.array(edges + [self.n_in], dtype=np.int64)
        self.margin = self.down * int(np.ceil(MARGIN_S * self.fs_in / self.down))
        self.n = -(-self.n_in * self.up // self.down)  # samples at the model's rate

    def __len__(self) -> int:
        return len(self.edges) - 1

    def at_model_rate(self, a: int) -> int:
        """Input sample ``a`` (an edge, or the first sample read) at the model's rate."""
        return self.n if a >= self.n_in else int(a) * self.up // self.down

    def bounds(self, i: int, j: int | None = None) -> tuple[int, int]:
        """Windows ``i`` to ``j`` (default ``i``) as model samples (start, end)."""
        j = i if j is None else j
        return self.at_model_rate(self.edges[i]), self.at_model_rate(self.edges[j + 1])

    def span(self, i: int, j: int | None = None) -> tuple[int, int]:
        """Input samples (first, end) to read for windows ``i`` to ``j`` (default ``i``): the
        windows and their margins, inside the recording."""
        j = i if j is None else j
        lo = max(0, int(self.edges[i]) - self.margin)
        return lo, min(self.n_in, int(self.edges[j + 1]) + self.margin)

    def blocks(self, blocks_per_thread: int = 4) -> list[range]:
        """The windows in contiguous blocks for :func:`in_threads`: one block when the
        recording is shorter than two blocks of :data:`BLOCK_WINDOWS`, else about
        ``blocks_per_thread`` per thread (so the progress moves), none shorter than that."""
        k = len(self)
        size = max(BLOCK_WINDOWS, -(-k // (blocks_per_thread * THREADS)))
        if k < 2 * BLOCK_WINDOWS or THREADS == 1:
            size = k
        return [range(a, min(a + size, k)) for a in range(0, k, size)]

    def neighbourhood(self, i: int, reference_s: float = REFERENCE_S) -> tuple[int, int]:
        """The windows (first, last) of window ``i``'s neighbourhood: ``reference_s`` of windows
        centred on it, shifted to fit inside the recording."""
        span = max(1, int(round(reference_s / self.window_s)))
        first = min(max(0, i - (span - 1) // 2), max(0, len(self) - span))
        return first, min(len(self), first + span) - 1


class Pieces:
    """A recording window by window at the model's rate, each window read once (with its
    margins), resampled and *prepared* (``prepare``: what a model makes of any signal before it
    cuts beats, such as removing the baseline) and kept while a neighbourhood still needs it:
    neighbourhoods overlap (three windows each), their windows are not worked three times.

    Parameters
    ----------
    read : callable
        ``read(j)``: window ``j`` with its margins at the model's rate, and the model sample of
        its first value (:func:`ecgutils.deploy.predict.read_windows`).
    win : Windows
    prepare : callable
        ``prepare(x)``: the prepared signal, as long as ``x``; its values more than a margin from
        the ends must not depend on them (a filter shorter than :data:`MARGIN_S`).
    """

    def __init__(self, read, win: Windows, prepare):
        self.read, self.win, self.prepare = read, win, prepare
        self.kept: dict[int, np.ndarray] = {}
        self.margin = win.margin * win.up // win.down  # model samples

    def window(self, j: int) -> np.ndarray:
        """Window ``j`` alone, prepared (its margins cut off again)."""
        if j not in self.kept:
            x, offset = self.read(j)
            start, end = self.win.bounds(j)
            self.kept[j] = self.prepare(x)[start - offset : end - offset]
        return self.kept[j]

    def get(self, first: int, last: int) -> tuple[np.ndarray, int]:
        """Windows ``first`` to ``last`` prepared, with a margin on each side that lies inside
        the recording, and the model sample of the first value (as ``read`` gives them)."""
        for j in [k for k in self.kept if k < first - 1]:  # behind us: never needed again
            del self.kept[j]
        parts = [self.window(j) for j in range(first, last + 1)]
        start = self.win.bounds(first)[0]
        if first > 0:
            parts.insert(0, self.window(first - 1)[-self.margin :])
            start -= len(parts[0])
        if last < len(self.win) - 1:
            parts.append(self.window(last + 1)[: self.margin])
        return np.concatenate(parts), start


def in_threads(work, items):
    """``work(item)`` of each item, in order, on :data:`THREADS` threads (in this one for a
    single item); the results are yielded here, in the calling thread, as they come."""
    items = list(items)
    if len(items) < 2 or THREADS == 1:
        yield from map(work, items)
        return
    with ThreadPoolExecutor(THREADS) as pool:
        yield from pool.map(work, items)


def progress_bar(progress, total: int, desc: str):
    """A tqdm bar over ``total`` steps (``progress`` True), a callback's (``progress``
    callable: called with the share
    done, 0 to 1) or none."""
    if callable(progress):

        class _Callback:
            n = 0

            def update(self, k=1):
                self.n += k
                progress(min(1.0, self.n / total))

            def close(self):
                pass

        return _Callback()
    return tqdm(total=total, desc=desc, unit="window", disable=not progress, leave=False)


class StepTimes:
    """Seconds spent per step, added up over the windows."""

    def __init__(self):
        self.seconds, self.t = {}, time.perf_counter()

    def lap(self, step: str) -> None:
        t, self.t = self.t, time.perf_counter()
        self.seconds[step] = self.seconds.get(step, 0.0) + self.t - t

    def add(self, other: StepTimes) -> None:
        """Add another's seconds (a thread's: the sums can then exceed the wall time)."""
        for step, s in other.seconds.items():
            self.seconds[step] = self.seconds.get(step, 0.0) + s
        self.t = time.perf_counter()
