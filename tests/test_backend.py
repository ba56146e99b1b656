"""ecgutils.backend: TensorFlow imported without its native start-up log."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from ecgutils import backend


def test_tensorflow_is_imported_without_its_native_start_up_log():
    """The CUDA wheel's Abseil log ("Could not find cuda drivers", "All log messages before
    absl::InitializeLog()") must not reach stderr, where a notebook shows it as a red box."""
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}

    def stderr_of(script: str) -> str:
        cmd = [sys.executable, "-c", script]
        run = subprocess.run(cmd, capture_output=True, text=True, env=env)
        assert run.returncode == 0, run.stderr
        return run.stderr.strip()

    if not stderr_of("import tensorflow as tf; tf.ones(2) + 1"):
        pytest.skip("this TensorFlow build logs nothing at import: nothing to silence")
    script = (
        "import ecgutils.backend as c, sys; c.import_keras().ops.ones(2) + 1; "
        "print('ok', file=sys.stderr)"
    )
    ours = stderr_of(script)
    assert ours == "ok"  # nothing but our own line: stderr works again afterwards


def test_import_tensorflow_keeps_python_errors_and_restores_stderr(monkeypatch):
    before = os.fstat(2)
    monkeypatch.setitem(sys.modules, "tensorflow", None)  # makes `import tensorflow` fail
    with pytest.raises(ImportError):
        backend.import_tensorflow()
    after = os.fstat(2)
    assert (after.st_dev, after.st_ino) == (before.st_dev, before.st_ino)


def test_fast_weighted_binning_gives_scikit_learns_thresholds_and_trees():
    """The one-sort weighted quantiles are scikit-learn's own thresholds (ties, NaN and zero
    weights included), the trees trained inside the block predict exactly as without it, and
    the library is restored after the block."""
    import numpy as np
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.ensemble._hist_gradient_boosting import binning

    from ecgutils.backend import _thresholds_from_one_sort, fast_weighted_binning

    original = binning._find_binning_thresholds
    fast = _thresholds_from_one_sort(original)
    rng = np.random.default_rng(0)
    for trial in range(6):
        x = rng.normal(size=1000)
        if trial % 3 == 0:
            x = np.round(x, 1)  # ties, fewer than 255 values
        if trial % 2 == 0:
            x[rng.random(1000) < 0.1] = np.nan
        w = rng.choice([0.0, 0.5, 1.0, 3.7, 10.0], size=1000)
        assert np.array_equal(original(x, 255, w), fast(x, 255, w)), trial
        assert np.array_equal(original(x, 255, None), fast(x, 255, None))
    X = rng.normal(size=(1000, 3))
    y = rng.integers(0, 3, 1000)
    X[:, 0] += y
    w = rng.choice([1.0, 5.0, 20.0], size=1000)
    plain = HistGradientBoostingClassifier(max_iter=10, random_state=0).fit(X, y, sample_weight=w)
    with fast_weighted_binning():
        quick = HistGradientBoostingClassifier(max_iter=10, random_state=0).fit(
            X, y, sample_weight=w
        )
    assert binning._find_binning_thresholds is original
    assert np.array_equal(plain.predict_proba(X), quick.predict_proba(X))
