"""The prediction app: its plain functions, and the real page in headless Chromium.

The browser test starts ``python -m ecgutils app`` (Voila) on a free localhost port, drives
Debian's Chromium with Playwright (never a browser Playwright downloads itself), uploads a CSV cut
from MIT-BIH record 100, presses Predict and reads the beats table; it must match the command
line's answer for the same file. Without /usr/bin/chromium it is skipped, unless
``ECG_REQUIRE_BROWSER=1`` (set by ``.ci/run``, which installs Chromium) makes that a failure.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ecgutils import predict, widgets

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


def test_uploaded_file_reads_ipywidgets_values():
    value = ({"name": "a.csv", "content": memoryview(b"1\n2\n"), "size": 4},)
    assert widgets.uploaded_file(value) == ("a.csv", b"1\n2\n")
    with pytest.raises(ValueError, match="Choose an ECG file first"):
        widgets.uploaded_file(())


def test_beats_html_has_the_table_id():
    beats = pd.DataFrame({"beat": [1], "start": [0], "end": [10], "class": ["N"]})
    html = widgets.beats_html(beats)
    assert 'id="beats"' in html and "<td>N</td>" in html


def test_app_shows_a_bad_file_as_one_red_line():
    app = widgets.prediction_app(model=object())  # never reached: the file is refused first
    controls = app.children[0].children
    upload, button, status = controls[0], controls[-1], app.children[1]
    button.click()
    assert "Choose an ECG file first" in status.value and "ecg-error" in status.value
    upload.value = ({"name": "bad.csv", "content": memoryview(b" Sample Value\n0.1\nx\n"),
                     "size": 19, "type": "text/csv",
                     "last_modified": datetime.fromtimestamp(0, UTC)},)  # fmt: skip
    button.click()
    assert "bad.csv, line 3: &#x27;x&#x27;" in status.value and "Traceback" not in status.value


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def browser():
    if not Path(CHROMIUM).is_file():
        if os.environ.get("ECG_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (.ci/run does).")
        pytest.skip(f"{CHROMIUM} is missing: `apt-get install chromium` to run the browser test.")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def app_url(tmp_path):
    port = _free_port()
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "JUPYTER_RUNTIME_DIR": str(tmp_path / "rt")}
    log = open(tmp_path / "voila.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "ecgutils", "app", "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT, env=env,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(url, timeout=2)
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail((tmp_path / "voila.log").read_text()[-2000:])
                time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
    # stopping the app stops the server and its kernels: nothing is left running
    import psutil

    time.sleep(1)
    left = [
        p for p in psutil.process_iter(["cmdline"]) if f"--port={port}" in (p.info["cmdline"] or [])
    ]
    assert not left, f"the app left {len(left)} process(es) running on port {port}"


@pytest.mark.integration
def test_the_page_matches_the_command_line(mitdb_ready, browser, app_url, tmp_path):
    from ecgutils.data import load_record

    rec = load_record("100")
    path = tmp_path / "100-2min.csv"
    predict.export_csv(rec.signal[: 120 * 360], 360, path, lead="MLII")
    cli = subprocess.run(
        [sys.executable, "-m", "ecgutils", "predict", str(path), "--json"],
        capture_output=True, text=True, check=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )  # fmt: skip
    expected = json.loads(cli.stdout)["beats"]

    page = browser.new_page()
    page.goto(app_url, timeout=120_000)
    page.wait_for_selector("button.ecg-file", timeout=180_000)
    with page.expect_file_chooser() as chooser:
        page.click("button.ecg-file")
    chooser.value.set_files(str(path))
    page.wait_for_selector("button.ecg-file:has-text('(1)')", timeout=60_000)
    page.click("button.ecg-predict")
    page.wait_for_selector("table#beats, .ecg-error", timeout=180_000)
    assert page.query_selector(".ecg-error") is None, page.inner_text(".ecg-error")
    rows = page.eval_on_selector_all(
        "table#beats tbody tr", "rows => rows.map(r => Array.from(r.cells, c => c.textContent))"
    )
    header = page.eval_on_selector_all("table#beats thead th", "hs => hs.map(h => h.textContent)")
    page.close()
    table = pd.DataFrame(rows, columns=header)
    assert len(table) == len(expected) > 100
    assert table["class"].tolist() == [b["class"] for b in expected]
    np.testing.assert_array_equal(table["start"].astype(int), [b["start"] for b in expected])
