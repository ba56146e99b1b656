"""The prediction app: its plain functions, and the real page in headless Chromium.

The browser test starts ``python -m ecgutils app`` (Voila) on a free localhost port, drives
Debian's Chromium with Playwright (never a browser Playwright downloads itself), uploads a CSV cut
from MIT-BIH record 100, presses Predict and reads the beats table; it must match the command
line's answer for the same file. Without /usr/bin/chromium it is skipped, unless
``ECG_REQUIRE_BROWSER=1`` (set by ``.ci/run``, which installs Chromium) makes that a failure.
"""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ecgutils.deploy import predict
from ecgutils.interface import app as page

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


def test_bounded_upload_gives_the_file_or_says_why_not():
    up = page.BoundedUpload()
    with pytest.raises(ValueError, match="Choose an ECG file first"):
        up.file()
    # as the browser sends it: one message, the file as a binary buffer
    up.set_state({"name": "a.csv", "size": 4, "refused": False, "content": memoryview(b"1\n2\n")})
    assert up.file() == ("a.csv", b"1\n2\n")
    up.name, up.size, up.refused, up.content = "big.csv", 300 * 2**20, True, b""
    with pytest.raises(ValueError, match="big.csv is 300 MB, over the 128 MB limit.*not read"):
        up.file()


def test_beats_html_has_the_table_id():
    beats = pd.DataFrame({"beat": [1], "start": [0], "end": [10], "class": ["N"]})
    html = page.beats_html(beats)
    assert 'id="beats"' in html and "<td>N</td>" in html


def test_download_links_carry_the_table_and_the_answer():
    import base64
    import io
    import re
    from types import SimpleNamespace

    beats = pd.DataFrame(
        {"beat": [1, 2], "start": [0, 300], "end": [300, 600], "class": ["N", "V"]}
    )
    pred = SimpleNamespace(
        beats=beats, ecg=SimpleNamespace(source="dir/rec 1.csv"), to_json=lambda: '{"model": "m"}'
    )
    html = page.download_links(pred)
    found = dict(
        re.findall(r'download="([^"]+)" href="data:[^;]+;charset=utf-8;base64,([^"]+)"', html)
    )
    assert set(found) == {"rec 1-beats.csv", "rec 1-beats.json"}
    table = pd.read_csv(io.BytesIO(base64.b64decode(found["rec 1-beats.csv"])))
    pd.testing.assert_frame_equal(table, beats)
    assert json.loads(base64.b64decode(found["rec 1-beats.json"])) == {"model": "m"}


def test_app_shows_a_bad_file_as_one_red_line():
    app = page.prediction_app(model=object())  # never reached: the file is refused first
    controls = app.children[0].children
    upload, button, status = controls[0], controls[-1], app.children[1]
    button.click()
    assert "Choose an ECG file first" in status.value and "ecg-error" in status.value
    upload.name, upload.size, upload.content = "bad.csv", 19, b" Sample Value\n0.1\nx\n"
    button.click()
    assert "bad.csv, line 3: &#x27;x&#x27;" in status.value and "Traceback" not in status.value
    # an over-size file is refused as soon as it is chosen, before Predict
    upload.name, upload.size, upload.refused = "big.csv", 200 * 2**20, True
    assert "over the 128 MB limit" in status.value and "ecg-error" in status.value
    assert "big.csv is 200 MB" in status.value
    # a second over-size file: the message names it, not the first one
    with upload.hold_sync():
        upload.name, upload.size = "bigger.csv", 300 * 2**20
    assert "bigger.csv is 300 MB" in status.value and "big.csv" not in status.value
    # then a file under the limit: the message goes
    upload.name, upload.size, upload.refused, upload.content = "ok.csv", 4, False, b"1\n2\n"
    assert "ecg-error" not in status.value


def test_app_passes_self_training_to_the_prediction(monkeypatch):
    """The *self-train* box reaches :func:`ecgutils.deploy.predict.classify_upload`; a model that
    cannot self-train answers in the status line, as every error does."""

    seen = {}

    def refuse(files, **options):
        seen.update(options, files=files)
        raise ValueError("The model cnn8 cannot self-train")

    monkeypatch.setattr(page, "classify_upload", refuse)
    app = page.prediction_app(model=object())
    controls = app.children[0].children
    upload, box, button, status = controls[0], controls[-2], controls[-1], app.children[1]
    assert box.description.startswith("self-train") and box.value is False
    upload.name, upload.size, upload.content = "ok.csv", 4, b"1\n2\n"
    box.value = True
    button.click()
    assert seen["self_train"] is True and "cannot self-train" in status.value
    assert seen["files"] == [("ok.csv", b"1\n2\n")]


def test_bounded_upload_splits_files_chosen_together():
    """A WFDB record chosen as two files arrives as one buffer; ``files()`` cuts it back."""
    up = page.BoundedUpload()
    up.set_state({
        "name": "r.hea + r.dat", "names": ["r.hea", "r.dat"], "sizes": [3, 5], "size": 8,
        "refused": False, "content": memoryview(b"hea01234"),
    })  # fmt: skip
    assert up.files() == [("r.hea", b"hea"), ("r.dat", b"01234")]
    up.set_state({"name": "a.csv", "names": ["a.csv"], "sizes": [4], "size": 4,
                  "content": memoryview(b"1\n2\n")})  # fmt: skip
    assert up.files() == [("a.csv", b"1\n2\n")]
    up.set_state({"refused": True, "content": memoryview(b"")})
    with pytest.raises(ValueError, match="over the 128 MB limit"):
        up.files()


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

    answer = json.loads(cli.stdout)
    # a file over the page's limit, sparse on disk: the page refuses it without reading it
    big = tmp_path / "too-big.csv"
    with open(big, "wb") as f:
        f.truncate(predict.MAX_FILE_BYTES + 1)

    page = browser.new_page()
    page.goto(app_url, timeout=120_000)
    chooser = ".ecg-file input[type=file]"
    page.wait_for_selector(chooser, state="attached", timeout=180_000)
    page.set_input_files(chooser, str(big))
    page.wait_for_selector(".ecg-error", timeout=60_000)
    assert "too-big.csv is 128 MB, over the 128 MB limit" in page.inner_text(".ecg-error")

    page.set_input_files(chooser, str(path))
    page.wait_for_selector(".ecg-upload-note:has-text('100-2min.csv')", timeout=60_000)
    page.wait_for_selector(".ecg-error", state="detached", timeout=60_000)  # a good file clears it
    page.click("button.ecg-predict")
    page.wait_for_selector("table#beats, .ecg-error", timeout=180_000)
    assert page.query_selector(".ecg-error") is None, page.inner_text(".ecg-error")
    assert page.inner_text(".ecg-model") == f"Model: {answer['model']}"
    rows = page.eval_on_selector_all(
        "table#beats tbody tr", "rows => rows.map(r => Array.from(r.cells, c => c.textContent))"
    )
    header = page.eval_on_selector_all("table#beats thead th", "hs => hs.map(h => h.textContent)")
    saved = {}
    for ext in ("csv", "json"):
        with page.expect_download() as download:
            page.click(f"a.ecg-download-{ext}")
        assert download.value.suggested_filename == f"100-2min-beats.{ext}"
        saved[ext] = Path(download.value.path()).read_text()
    wfdb_beats, hours = _predict_a_wfdb_pair(page, chooser, rec, tmp_path)
    page.close()
    table = pd.DataFrame(rows, columns=header)
    assert len(table) == len(expected) > 100
    assert table["class"].tolist() == [b["class"] for b in expected]
    np.testing.assert_array_equal(table["start"].astype(int), [b["start"] for b in expected])
    # the downloads are the command line's answer
    csv = pd.read_csv(io.StringIO(saved["csv"]))
    assert csv["class"].tolist() == [b["class"] for b in expected]
    np.testing.assert_array_equal(csv["end"], [b["end"] for b in expected])
    assert json.loads(saved["json"]) == answer
    # a WFDB record chosen as its two files: the command line's beats, and the Holter summary
    cli = _cli_json(tmp_path / "100-6min.hea")
    assert wfdb_beats["class"].tolist() == [b["class"] for b in cli["beats"]]
    np.testing.assert_array_equal(wfdb_beats["r"].astype(int), [b["r"] for b in cli["beats"]])
    assert len(hours) == 1 and "HR mean" in hours.columns


def _cli_json(path: Path) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "ecgutils", "predict", str(path), "--json"],
        capture_output=True, text=True, check=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )  # fmt: skip
    return json.loads(out.stdout)


def _predict_a_wfdb_pair(page, chooser, rec, folder: Path):
    """Choose 6 minutes of ``rec`` written as rec.hea + rec.dat, press Predict; the beats table
    and the Holter summary's table per hour as read in the page."""
    import wfdb

    wfdb.wrsamp("100-6min", fs=360, units=["mV"], sig_name=["MLII"],
                p_signal=rec.signal[: 6 * 60 * 360, None], fmt=["212"], adc_gain=[200.0],
                baseline=[0], write_dir=str(folder))  # fmt: skip
    page.set_input_files(chooser, [str(folder / "100-6min.hea"), str(folder / "100-6min.dat")])
    page.wait_for_selector(".ecg-upload-note:has-text('100-6min.hea + 100-6min.dat')")
    page.click("button.ecg-predict")
    page.wait_for_selector("table#holter-hours, .ecg-error", timeout=180_000)
    assert page.query_selector(".ecg-error") is None, page.inner_text(".ecg-error")

    def table(selector):
        header = page.eval_on_selector_all(
            f"{selector} thead th", "hs => hs.map(h => h.textContent)"
        )
        rows = page.eval_on_selector_all(
            f"{selector} tbody tr", "rows => rows.map(r => Array.from(r.cells, c => c.textContent))"
        )
        return pd.DataFrame(rows, columns=header)

    return table("table#beats"), table("table#holter-hours")
