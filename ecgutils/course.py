"""Run the course: execute every notebook in order, headless, and keep the executed copies.

``make course`` calls :func:`run_course` through ``python -m ecgutils course``. Each notebook
runs in a fresh kernel (as a student would start it), with ``ECG_PROFILE`` set, from the
``notebooks/`` folder. Executed notebooks and their HTML go to ``build/notebooks`` and a
summary with each notebook's wall time and peak memory to ``build/course-summary.json``.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from .config import PROFILE_ENV, get_profile, project_root


@dataclass
class NotebookRun:
    """Outcome of executing one notebook."""

    notebook: str
    ok: bool
    seconds: float
    error: str = ""
    peak_memory_gb: float = 0.0  # largest resident memory of the kernel and its workers


class PeakMemory:
    """Polls the resident memory (RSS) of this process's children while it is entered.

    The children are the notebook's kernel and any worker processes it starts; their RSS is
    summed (pages shared between workers count once per worker, so this errs high). ``peak``
    holds the largest sum seen, in bytes.
    """

    def __init__(self, interval_s: float = 0.5):
        self.interval_s = interval_s
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def sample(self) -> None:
        """Add up the children's resident memory now and keep the largest sum."""
        import psutil

        total = 0
        for child in psutil.Process().children(recursive=True):
            try:
                total += child.memory_info().rss
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                pass
        self.peak = max(self.peak, total)

    def _poll(self):
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval_s)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def course_notebooks(folder: str | os.PathLike | None = None) -> list[Path]:
    """The course's notebooks in reading order: ``notebooks/NN_topic.ipynb`` sorted by NN."""
    folder = Path(folder) if folder is not None else project_root() / "notebooks"
    found = sorted(p for p in folder.glob("[0-9][0-9]_*.ipynb"))
    if not found:
        raise FileNotFoundError(f"No notebooks named NN_topic.ipynb in {folder}.")
    return found


def run_course(
    out_dir: str | os.PathLike | None = None,
    *,
    profile: str | None = None,
    notebooks: Sequence[str | os.PathLike] | None = None,
    cell_timeout_s: int = 3600,
) -> list[NotebookRun]:
    """Execute notebooks in order and write the executed ``.ipynb`` and ``.html`` copies.

    A failing notebook is still written (with the error in its output) and the run goes on
    to the next one, since each notebook stands on its own.
    """
    import tempfile

    import nbformat
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient
    from nbconvert import HTMLExporter

    prof = get_profile(profile)
    out = Path(out_dir) if out_dir is not None else project_root() / "build"
    (out / "notebooks").mkdir(parents=True, exist_ok=True)
    paths = [Path(p) for p in notebooks] if notebooks else course_notebooks()
    # Each kernel gets the profile in its own environment; this process's is left as it was.
    kernel_env = {**os.environ, PROFILE_ENV: prof.name}
    runs = []
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        # IPC sockets in a private folder: no "Kernel is running over TCP without encryption"
        # warning in every chapter's log, and nothing listening on the network.
        sockets = tempfile.mkdtemp(prefix="ecg-kernel-")
        km = KernelManager(
            kernel_name="python3", transport="ipc", ip=os.path.join(sockets, "kernel")
        )
        client = NotebookClient(
            nb,
            km=km,
            timeout=cell_timeout_s,
            resources={"metadata": {"path": str(path.parent)}},
        )
        print(f"[{prof.name}] running {path.name} ...", flush=True)
        t0 = time.perf_counter()
        error = ""
        with PeakMemory() as memory:
            # also after each cell: a notebook shorter than the poll interval is still measured
            client.on_cell_executed = lambda **_: memory.sample()
            try:
                client.execute(env=kernel_env)
            except Exception as exc:  # CellExecutionError, timeouts, dead kernels
                text = str(exc).strip()
                error = text.splitlines()[-1] if text else type(exc).__name__
            finally:
                if km.has_kernel:  # a kernel manager we made is ours to stop
                    km.shutdown_kernel(now=True)
                shutil.rmtree(sockets, ignore_errors=True)
        seconds = time.perf_counter() - t0
        nbformat.write(nb, out / "notebooks" / path.name)
        exporter = HTMLExporter()
        exporter.log.setLevel(logging.ERROR)  # no "alternative text is missing" per figure
        html, _ = exporter.from_notebook_node(nb)
        (out / "notebooks" / path.with_suffix(".html").name).write_text(html, encoding="utf-8")
        gb = round(memory.peak / 2**30, 2)
        runs.append(NotebookRun(path.name, not error, round(seconds, 1), error, gb))
        status = "ok" if not error else "FAILED"
        print(f"    {status} in {seconds:.1f} s, peak memory {gb:.2f} GB {error}", flush=True)
    summary = {"profile": prof.name, "notebooks": [asdict(r) for r in runs]}
    (out / "course-summary.json").write_text(json.dumps(summary, indent=2))
    return runs


def format_summary(runs: Sequence[NotebookRun], profile: str) -> str:
    """A plain-text table of the runs: notebook, status, minutes, peak memory."""
    width = max([len(r.notebook) for r in runs] + [8])
    lines = [
        f"Course run, profile {profile}:",
        f"  {'notebook':<{width}}  status  minutes  peak GB",
    ]
    for r in runs:
        lines.append(
            f"  {r.notebook:<{width}}  {'ok' if r.ok else 'FAILED':<6}  {r.seconds / 60:7.1f}"
            f"  {r.peak_memory_gb:7.2f}"
        )
    total = sum(r.seconds for r in runs)
    failed = sum(not r.ok for r in runs)
    lines.append(f"  {len(runs)} notebooks, {failed} failed, {total / 60:.1f} minutes in all")
    return "\n".join(lines)
