"""Libraries run the way the course needs: TensorFlow and Keras, scikit-learn's binning.

TensorFlow and Keras are imported once and quietly (every ``ecgutils`` module that needs them
imports them through :func:`import_tensorflow` / :func:`import_keras`), and scikit-learn's
gradient-boosted trees bin weighted beats fast (:func:`fast_weighted_binning`). Nothing here
changes a result, so editing it keeps the store."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np


@contextmanager
def _native_stderr_silenced() -> Iterator[None]:
    """Send what native code writes to file descriptor 2 to /dev/null for the block.

    Python exceptions still propagate; only text written straight to the descriptor (C++ logs)
    is dropped. In Jupyter that descriptor feeds the red stderr box of the cell.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def import_tensorflow():
    """Import TensorFlow without its native start-up log on stderr, and return it.

    TensorFlow's CUDA-enabled wheel logs "Could not find cuda drivers" through Abseil before
    ``TF_CPP_MIN_LOG_LEVEL`` takes effect, and "failed call to cuInit" when it first looks for a
    GPU, so on a machine without one every notebook that uses it showed a red stderr box at its
    first TensorFlow cell. This imports it once with the
    process's stderr descriptor silenced and ``TF_CPP_MIN_LOG_LEVEL`` at 2 unless set (later
    warnings and errors still show). Every ``ecgutils`` function that needs TensorFlow or Keras
    imports it through here (:func:`import_keras`).
    """
    if sys.modules.get("tensorflow") is None:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        with _native_stderr_silenced():
            import tensorflow

            # Looking for GPUs here logs "failed call to cuInit" (an error-level line) where there
            # is none; a machine with a GPU finds it the same way, without a message.
            tensorflow.config.list_physical_devices("GPU")
    return sys.modules["tensorflow"]


def import_keras():
    """Import Keras (TensorFlow backend) through :func:`import_tensorflow`, and return it."""
    import_tensorflow()
    import keras

    return keras


def _thresholds_from_one_sort(original):
    """scikit-learn's ``_find_binning_thresholds`` with the weighted quantiles of a feature
    computed together (one sort) instead of one call, and one sort, per quantile."""
    from sklearn.ensemble._hist_gradient_boosting.common import ALMOST_INF, X_DTYPE
    from sklearn.utils.stats import _weighted_percentile

    def thresholds(col_data, max_bins, sample_weight=None):
        if sample_weight is None:
            return original(col_data, max_bins, sample_weight)
        keep = ~np.isnan(col_data)
        keep &= sample_weight != 0
        col, weight = col_data[keep], sample_weight[keep]
        order = np.argsort(col)
        col, weight = col[order], weight[order]
        if len(np.unique(col)) <= max_bins:  # midpoints of the values: no quantile, fast
            return original(col_data, max_bins, sample_weight)
        ranks = np.linspace(0, 100, num=max_bins + 1)[1:-1]
        out = np.asarray(_weighted_percentile(col, weight, ranks, average=True), dtype=X_DTYPE)
        out = out.reshape(-1)
        unique = np.unique(out)
        if unique.shape[0] != out.shape[0]:
            out = unique
        np.clip(out, a_min=None, a_max=ALMOST_INF, out=out)
        return out

    return thresholds


@contextmanager
def fast_weighted_binning() -> Iterator[None]:
    """Within the block, scikit-learn's gradient-boosted trees bin weighted features fast.

    Since scikit-learn 1.8 ``HistGradientBoostingClassifier`` bins each feature at the weighted
    quantiles of its training values, and computes its 255 quantiles one call (and one sort) at a
    time: on 50,000 beats and 60 features that is about 10 s of every fit, often most of it.
    ``sklearn.utils.stats._weighted_percentile`` computes all of them from one sort with the same
    arithmetic, so the thresholds are the same numbers (a test compares them with scikit-learn's,
    and the trees trained both ways). Older versions, which bin without weights, are left as they
    are.
    """
    import inspect

    try:
        from sklearn.ensemble._hist_gradient_boosting import binning
    except ImportError:  # pragma: no cover - a scikit-learn without the module
        yield
        return
    original = getattr(binning, "_find_binning_thresholds", None)
    if original is None or "sample_weight" not in inspect.signature(original).parameters:
        yield
        return
    binning._find_binning_thresholds = _thresholds_from_one_sort(original)
    try:
        yield
    finally:
        binning._find_binning_thresholds = original
