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
