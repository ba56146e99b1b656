"""Beats to grayscale images.

Two renderers draw the same picture: a beat's waveform as a dark line on a white square.

* :func:`render_beat_reference` reproduces the original method step by step (a Matplotlib plot
  without axes or frame, saved as PNG, read back as grayscale with OpenCV, resized to 128x128
  with Lanczos). It takes about 20 ms per beat; the course keeps it for teaching and checks.
* :func:`render_beats` is the one the course uses: pure NumPy, vectorised over a batch of beats,
  anti-aliased, and a few hundred times faster. Each image column covers an equal slice of the
  beat; the line covers, in that column, every height the waveform passes through, widened by
  the line width, and each pixel gets the fraction of its height that the line covers.

Images are ``uint8``: 255 is background (white), 0 is full ink.

Source: chapter 03 (``notebooks/03_beat_images.ipynb``) writes :func:`sample_columns`,
:func:`to_rows`, :func:`draw_spans`; chapter 09 (``notebooks/09_giving_back.ipynb``) writes
:func:`patient_normalize` (cells marked ``#| export``; a test fails when chapter and package
differ).
"""

from __future__ import annotations

import io

import bottleneck as bn
import numpy as np

#: Default image side, pixels (the paper's 128x128).
IMAGE_SIZE = 128
#: Default line width of the fast renderer, in pixels.
LINE_WIDTH = 1.0
#: Default mV range for ``scale="fixed"``: covers nearly every MLII beat of MIT-BIH.
FIXED_RANGE_MV: tuple[float, float] = (-2.0, 3.0)
SCALES: tuple[str, ...] = ("minmax", "fixed")
#: Baseline filter of de Chazal et al. 2004: a 200 ms median filter, then a 600 ms one.
BASELINE_WINDOWS_S: tuple[float, float] = (0.2, 0.6)
#: Height range drawn by the ``patient`` scale, in units of the record's typical beat height.
PATIENT_RANGE: tuple[float, float] = (-2.0, 2.0)


def sample_columns(
    signal: np.ndarray, starts: np.ndarray, ends: np.ndarray, size: int, oversample: int
) -> np.ndarray:
    """(n, size * oversample + 1) float32: each beat linearly resampled at equal steps."""
    m = size * oversample + 1
    frac = np.linspace(0.0, 1.0, m, dtype=np.float64)
    pos = starts[:, None] + frac[None, :] * (ends - 1 - starts)[:, None]
    i0 = np.floor(pos).astype(np.int64)
    i1 = np.minimum(i0 + 1, len(signal) - 1)
    w = (pos - i0).astype(np.float32)
    x0, x1 = signal[i0], signal[i1]
    return x0 + w * (x1 - x0)


def to_rows(y: np.ndarray, size: int, scale: str, mv_range: tuple[float, float], pad: float):
    """Map amplitudes (mV) to image row coordinates (0 = top) inside a margin of ``pad``."""
    if scale == "minmax":
        lo = y.min(axis=1, keepdims=True)
        hi = y.max(axis=1, keepdims=True)
        span = np.where(hi - lo > 1e-9, hi - lo, 1.0)
        unit = (y - lo) / span
        unit = np.where(hi - lo > 1e-9, unit, 0.5)  # a flat beat is a line in the middle
    else:
        lo, hi = mv_range
        unit = np.clip((y - lo) / (hi - lo), 0.0, 1.0)
    return pad + (1.0 - unit) * (size - 1 - 2 * pad)


def span_pixels(top: np.ndarray, bottom: np.ndarray) -> tuple[np.ndarray, ...]:
    """The pixels that vertical spans touch, one span per column, and how much of each.

    ``top`` and ``bottom`` (k, size) are each column's line extent in row coordinates (pixel
    ``r`` covers ``[r - 0.5, r + 0.5]``). Returns ``span`` (beat * size + column of each pixel),
    ``row`` and ``cover`` (the share of the pixel the line covers, 0 to 1): only the pixels a
    span touches, so the cost grows with the ink, not with the image area.
    """
    size = top.shape[1]
    r0 = np.clip(np.floor(top + 0.5), 0, size - 1).astype(np.int64).ravel()
    r1 = np.clip(np.ceil(bottom + 0.5) - 1, 0, size - 1).astype(np.int64).ravel()
    counts = np.maximum(r1 - r0 + 1, 0)
    span = np.repeat(np.arange(top.size, dtype=np.int64), counts)  # beat * size + column
    first = np.cumsum(counts) - counts
    row = r0[span] + (np.arange(len(span), dtype=np.int64) - first[span])
    cover = np.minimum(row + 0.5, bottom.ravel()[span]) - np.maximum(row - 0.5, top.ravel()[span])
    np.clip(cover, 0.0, 1.0, out=cover)
    return span, row, cover


def draw_spans(top: np.ndarray, bottom: np.ndarray, out: np.ndarray) -> None:
    """Fill ``out`` (k, size, size) uint8 with vertical anti-aliased spans, one per column
    (:func:`span_pixels`): white where no line passes, darker the more of a pixel it covers."""
    size = top.shape[1]
    out.fill(255)
    span, row, cover = span_pixels(top, bottom)
    beat, col = np.divmod(span, size)
    out.reshape(-1)[(beat * size + row) * size + col] = np.rint(255.0 * (1.0 - cover))


def render_beats(
    signal: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    *,
    size: int = IMAGE_SIZE,
    line_width: float = LINE_WIDTH,
    scale: str = "minmax",
    mv_range: tuple[float, float] = FIXED_RANGE_MV,
    oversample: int = 4,
    batch: int = 1024,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Render many beats of one signal as grayscale images, vectorised.

    Parameters
    ----------
    signal : (n_samples,) float array
        The lead, in mV (any sampling rate: each beat is stretched to the image width).
    starts, ends : (n,) int arrays
        Each beat's first sample and end sample (exclusive), as in a beat table.
    size : int
        Image side in pixels.
    line_width : float
        Line width in pixels (anti-aliased, fractions allowed).
    scale : {"minmax", "fixed"}
        ``minmax`` stretches each beat to the image height (the original method: amplitude is
        lost); ``fixed`` maps ``mv_range`` (mV) to the image height, so amplitude survives
        (values outside are clipped).
    oversample : int
        Waveform points per image column used to find the line's extent in each column.
    batch : int
        Beats rendered at a time (bounds memory: about ``batch * size**2 * 6`` bytes).
    out : (n, size, size) uint8 array, optional
        Where to write the images (e.g. a slice of a larger array).

    Returns
    -------
    (n, size, size) uint8 array
        255 = white background, 0 = ink.
    """
    if scale not in SCALES:
        raise ValueError(f"Unknown scale {scale!r}; choose one of {', '.join(SCALES)}.")
    if size < 4 or line_width <= 0 or oversample < 1:
        raise ValueError("size must be >= 4, line_width > 0 and oversample >= 1.")
    signal = np.asarray(signal, dtype=np.float32)
    starts = np.asarray(starts, dtype=np.int64)
    ends = np.asarray(ends, dtype=np.int64)
    if starts.shape != ends.shape or starts.ndim != 1:
        raise ValueError("starts and ends must be 1-D arrays of the same length.")
    if len(starts) and (starts.min() < 0 or ends.max() > len(signal) or np.any(ends - starts < 2)):
        raise ValueError("Every beat needs 0 <= start, start + 2 <= end <= len(signal).")
    n = len(starts)
    if out is None:
        out = np.empty((n, size, size), dtype=np.uint8)
    half = line_width / 2.0
    pad = max(half, 0.5)
    for b0 in range(0, n, batch):
        s, e = starts[b0 : b0 + batch], ends[b0 : b0 + batch]
        y = to_rows(sample_columns(signal, s, e, size, oversample), size, scale, mv_range, pad)
        # extent of the trace within each column (shared end points join the columns)
        cols = np.lib.stride_tricks.sliding_window_view(y, oversample + 1, axis=1)[:, ::oversample]
        draw_spans(cols.min(axis=2) - half, cols.max(axis=2) + half, out[b0 : b0 + batch])
    return out


def render_beat_reference(x: np.ndarray, size: int = IMAGE_SIZE) -> np.ndarray:
    """Render one beat exactly as the original code did (slow; for teaching and checks).

    ``plt.figure(frameon=False)``, ``plt.plot(beat)``, no ticks, no spines, ``savefig`` to PNG
    (640x480 at Matplotlib's default 100 dpi), read back with ``cv2.imread(...,
    IMREAD_GRAYSCALE)``, resized with ``cv2.resize(..., INTER_LANCZOS4)``. The PNG goes to
    memory instead of a file; the pixels are the same.

    Returns
    -------
    (size, size) uint8 array
    """
    import cv2
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    # plt.figure(frameon=False) + plt.plot(...), without pyplot's global state or backend
    fig = Figure(frameon=False)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.plot(np.asarray(x, dtype=float))
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    png = np.frombuffer(buffer.getvalue(), dtype=np.uint8)
    gray = cv2.imdecode(png, cv2.IMREAD_GRAYSCALE)
    return cv2.resize(gray, (size, size), interpolation=cv2.INTER_LANCZOS4)


def trace_from_image(image: np.ndarray) -> np.ndarray:
    """Read the waveform back from a beat image: the ink-weighted mean height of each column.

    Parameters
    ----------
    image : (size, size) or (n, size, size) uint8 array
        255 = background.

    Returns
    -------
    (size,) or (n, size) float array
        Height of the trace in each column, in pixels from the bottom (NaN where no ink).
    """
    ink = 255.0 - np.asarray(image, dtype=np.float32)
    ink[ink < 8] = 0.0  # ignore faint resampling ripples of the reference renderer
    size = ink.shape[-2]
    # whole numbers below 2**24 at every step: both sums are exact in float32, in any order
    weights = np.stack([np.ones(size), size - 1 - np.arange(size)]).astype(np.float32)
    total, moment = np.moveaxis(weights @ ink, -2, 0).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, moment / total, np.nan)


def render_traces(
    signal: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    *,
    size: int = IMAGE_SIZE,
    line_width: float = LINE_WIDTH,
    scale: str = "minmax",
    mv_range: tuple[float, float] = FIXED_RANGE_MV,
    oversample: int = 4,
    batch: int = 4096,
) -> np.ndarray:
    """``trace_from_image(render_beats(...))`` without drawing the images: value for value (a
    test compares them), in a fraction of the time, for what reads beats back (the trees'
    features, :func:`ecgutils.trees.recording_features`).

    Each column of a beat image holds one anti-aliased span of ink (:func:`draw_spans`); its
    pixels are computed here as there, and summed into the column's ink and ink moment
    (:func:`trace_from_image`) without the (n, size, size) image around them.

    Returns
    -------
    (n, size) float array: height of the trace in each column, pixels from the bottom (NaN
    where no ink).
    """
    signal = np.asarray(signal, dtype=np.float32)
    starts, ends = np.asarray(starts, dtype=np.int64), np.asarray(ends, dtype=np.int64)
    n = len(starts)
    out = np.empty((n, size), dtype=np.float64)
    half = line_width / 2.0
    pad = max(half, 0.5)
    for b0 in range(0, n, batch):
        s, e = starts[b0 : b0 + batch], ends[b0 : b0 + batch]
        y = to_rows(sample_columns(signal, s, e, size, oversample), size, scale, mv_range, pad)
        # each column's points (render_beats' sliding window), as oversample + 1 strided slices
        cols = [y[:, j : j + size * oversample : oversample] for j in range(oversample + 1)]
        top = np.minimum.reduce(cols) - half
        bottom = np.maximum.reduce(cols) + half
        span, row, cover = span_pixels(top, bottom)  # draw_spans' pixels, as the image's values
        value = np.rint(255.0 * (1.0 - cover)).astype(np.uint8)
        # trace_from_image's sums: whole numbers, exact in any order
        ink = 255.0 - value.astype(np.float32)
        ink[ink < 8] = 0.0
        total = np.bincount(span, ink, minlength=len(s) * size)
        moment = np.bincount(span, ink * (size - 1 - row), minlength=len(s) * size)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[b0 : b0 + batch] = np.where(total > 0, moment / total, np.nan).reshape(-1, size)
    return out


def resample_beat(x: np.ndarray, width: int, oversample: int = 8) -> np.ndarray:
    """A beat reduced to ``width`` points: the mean of the (linearly interpolated) beat over each
    column's time slice, i.e. resampling with area averaging, so long beats do not alias.

    Parameters
    ----------
    x : (n,) float array
    width : int

    Returns
    -------
    (width,) float array
    """
    x = np.asarray(x, dtype=float)
    m = width * oversample
    y = np.interp(np.linspace(0, len(x) - 1, m + 1), np.arange(len(x)), x)
    return np.lib.stride_tricks.sliding_window_view(y, oversample + 1)[::oversample].mean(axis=1)


def readback_correlation(
    images: np.ndarray, signal: np.ndarray, starts: np.ndarray, ends: np.ndarray
) -> np.ndarray:
    """Correlation of each image's read-back trace with its beat resampled to the image width.

    Parameters
    ----------
    images : (n, size, size) uint8 array
        From :func:`render_beats` on the same beats.
    signal : (n_samples,) float array, mV
    starts, ends : (n,) int arrays

    Returns
    -------
    (n,) float array
        Pearson correlation per beat (1 = the image holds the waveform exactly).
    """
    size = images.shape[2]
    out = np.empty(len(images))
    for i, (img, s, e) in enumerate(zip(images, starts, ends)):
        trace = trace_from_image(img)
        beat = resample_beat(signal[s:e], size)
        ok = ~np.isnan(trace)
        out[i] = np.corrcoef(trace[ok], beat[ok])[0, 1]
    return out


def remove_baseline(signal: np.ndarray, fs: float) -> np.ndarray:
    """The signal minus its baseline wander: two median filters (200 ms, then 600 ms).

    Parameters
    ----------
    signal : (n_samples,) float array, mV
    fs : float
        Sampling rate, Hz (360 for MIT-BIH).

    Returns
    -------
    (n_samples,) float32 array, mV, baseline near 0.
    """
    x = np.asarray(signal, dtype=np.float32)
    base = x
    for w in BASELINE_WINDOWS_S:
        k = int(round(w * fs)) | 1  # odd kernel
        base = running_median(base, k)
    return x - base


def running_median(x: np.ndarray, k: int) -> np.ndarray:
    """The median of the ``k`` samples centred on each sample (``k`` odd), the ends extended by
    their first and last values: ``scipy.ndimage.median_filter(x, size=k, mode="nearest")``,
    value for value, computed by bottleneck's ``move_median``, which lets go of Python's lock
    (scipy's holds it), so that deployment's windows filter on every core at once.

    Parameters
    ----------
    x : (n,) float32 array
    k : int, odd

    Returns
    -------
    (n,) float32 array
    """
    x = np.asarray(x, dtype=np.float32)
    if len(x) == 0:
        return x.copy()
    h = k // 2
    return bn.move_median(np.pad(x, h, mode="edge"), k)[k - 1 :]


def qrs_polarity(template: np.ndarray, points_per_s: float, qrs_s: float = 0.06) -> float:
    """+1 when a beat's dominant QRS deflection points up, -1 when it points down.

    The QRS is the steepest part of the beat: the ``qrs_s`` either side of the template's largest
    slope. Its largest excursion from the template's median level decides, so a beat and its
    negative always get opposite signs (the polarity of MLII in most people is up; record 207's,
    and any lead with swapped electrodes, down).

    Parameters
    ----------
    template : (points,) float array
        A typical beat (any units).
    points_per_s : float
        Its samples per second.

    Returns
    -------
    float, +1.0 or -1.0
    """
    t = np.asarray(template, dtype=float)
    at = int(np.argmax(np.abs(np.gradient(t))))
    h = max(1, int(round(qrs_s * points_per_s)))
    qrs = t[max(0, at - h) : at + h + 1] - np.median(t)
    return 1.0 if qrs.max() >= -qrs.min() else -1.0


def patient_normalize(
    signal: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    fs: float,
    *,
    points: int = 256,
    reference: np.ndarray | None = None,
    baseline_removed: bool = False,
) -> tuple[np.ndarray, np.ndarray, float]:
    """Express a record in units of its own typical beat: what the ``patient`` scale draws.

    The baseline is removed (:func:`remove_baseline`, unless ``baseline_removed``: deployment
    removes it once per window of a long recording); every beat is resampled to ``points``
    samples; the record's *template* is the sample-wise median of the ``reference`` beats (all
    beats by default; :func:`ecgutils.dataset.reference_beats` picks those after a long RR, the
    patient's own beats even where ectopic beats are the majority), and the *unit* is the median
    peak-to-peak height of all beats, signed by the template's polarity
    (:func:`qrs_polarity`): a record whose QRS points mostly down (a lead placed the other way, or a
    patient's own axis) is turned over, so a recording and its negative give the same beats. All
    of it comes from the record's own beats, without labels, as a monitor could compute them from
    the recording it is given.

    Parameters
    ----------
    signal : (n_samples,) float array, mV
    starts, ends : (n,) int arrays
        Beat windows, samples.
    fs : float
        Sampling rate, Hz.
    points : int
        Length of the resampled beats and of the template.
    reference : (n,) bool array, optional
        Beats the template is the median of (all if None, or if none is selected).

    Returns
    -------
    normalized : (n_samples,) float32 array
        Baseline-free signal divided by the unit (1 = the typical beat's height).
    template : (points,) float32 array
        The median beat, in the same units.
    unit_mv : float
        The typical beat height, mV; negative when the record was turned over.
    """
    x = np.asarray(signal, np.float32) if baseline_removed else remove_baseline(signal, fs)
    starts, ends = np.asarray(starts, dtype=np.int64), np.asarray(ends, dtype=np.int64)
    if len(starts) == 0:
        raise ValueError("patient_normalize needs at least one beat window.")
    beats = sample_columns(x, starts, ends, points - 1, 1)
    unit = float(np.median(np.ptp(beats, axis=1)))
    unit = unit if unit > 1e-6 else 1.0
    pick = np.ones(len(beats), bool) if reference is None else np.asarray(reference, bool)
    template = np.median(beats[pick] if pick.any() else beats, axis=0)
    unit *= qrs_polarity(template, (points - 1) / np.median((ends - starts) / fs))
    return (x / unit).astype(np.float32), (template / unit).astype(np.float32), unit
