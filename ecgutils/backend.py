"""TensorFlow and Keras, imported once and quietly: every ``ecgutils`` module that needs them
imports them through :func:`import_tensorflow` / :func:`import_keras`."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager


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
