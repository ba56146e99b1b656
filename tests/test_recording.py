"""ecgutils.deploy.recording and the windowed pipeline: EDF, WFDB read piece by piece, windows
whose seams lose and double no beat, the answer of a long recording in bounded memory."""

from __future__ import annotations

import numpy as np
import pytest

from ecgutils.deploy import predict, recording


def _write_edf(path, x_uv, fs, labels=("EKG MLII", "Resp")):
    import pyedflib

    with pyedflib.EdfWriter(str(path), len(labels), file_type=pyedflib.FILETYPE_EDFPLUS) as w:
        heads = []
        for lab in labels:
            heads.append({"label": lab, "dimension": "uV", "sample_frequency": fs,
                          "physical_min": -5000.0, "physical_max": 5000.0,
                          "digital_min": -32768, "digital_max": 32767})  # fmt: skip
        w.setSignalHeaders(heads)
        other = 300 * np.sin(np.arange(len(x_uv)) / fs)  # a breathing-like second signal, uV
        w.writeSamples([np.asarray(x_uv, float)] + [other] * (len(labels) - 1))


def test_edf_plus_is_read_with_its_rate_units_and_leads(tmp_path):
    fs, t = 250, np.arange(250 * 20) / 250
    x_mv = 1.2 * np.sin(2 * np.pi * 1.1 * t) ** 31  # spiky, about 1 mV
    path = tmp_path / "holter.edf"
    _write_edf(path, 1000 * x_mv, fs)
    rec = recording.open_recording(path)
    assert (rec.fs, rec.lead, rec.leads, rec.fs_source) == (
        250.0,
        "EKG MLII",
        ["EKG MLII", "Resp"],
        "EDF header",
    )
    assert rec.n_samples == len(x_mv)
    np.testing.assert_allclose(rec.read(1000, 1250), x_mv[1000:1250], atol=2e-3)  # uV -> mV
    assert recording.read_ecg(path, lead="Resp").lead == "Resp"
    with pytest.raises(ValueError, match="250 Hz .*EDF header"):
        recording.open_recording(path, fs=360)
    # read by content, whatever the extension
    other = tmp_path / "export.dat.bin"
    other.write_bytes(path.read_bytes())
    assert recording.open_recording(other).fs == 250.0


def test_other_binary_files_get_one_line_naming_the_formats(tmp_path):
    junk = tmp_path / "scan.pdf"
    junk.write_bytes(b"%PDF-1.4\n" + bytes(range(256)) * 20)
    with pytest.raises(ValueError, match="binary file .* WFDB record .* EDF"):
        recording.open_recording(junk)
    bad = tmp_path / "broken.edf"
    bad.write_bytes(b"0       " + b"x" * 400)
    with pytest.raises(ValueError, match="cannot read it as EDF"):
        recording.open_recording(bad)


def test_wfdb_is_read_piece_by_piece(synthetic_record):
    rec = recording.open_recording(synthetic_record.with_suffix(".hea"))
    whole = recording.read_ecg(synthetic_record.with_suffix(".hea"))
    np.testing.assert_array_equal(rec.read(100, 300), whole.signal[100:300])
    assert rec.read(-5, 10).shape == (10,) and len(rec.read(rec.n_samples - 3, 10**9)) == 3


def test_windows_fall_on_whole_samples_at_both_rates():
    win = predict.Windows(n_in=250 * 3600, fs_in=250.0, fs=360.0, window_s=600.0)
    assert len(win) == 6 and win.edges[0] == 0 and win.edges[-1] == 250 * 3600
    assert all(e % win.down == 0 for e in win.edges[:-1])
    assert win.at_model_rate(win.edges[1]) * 250 == win.edges[1] * 360  # exact
    assert win.n == 360 * 3600
    assert win.neighbourhood(0, 1800) == (0, 2) and win.neighbourhood(3, 1800) == (2, 4)
    assert win.neighbourhood(5, 1800) == (3, 5)
    assert win.neighbourhood(3) == (3, 3)  # deployment's: each window its own reference
    assert predict.Windows(1000, 360.0, 360.0, 600.0).neighbourhood(0, 1800) == (0, 0)


def test_long_recordings_go_in_blocks_on_every_thread(monkeypatch):
    from ecgutils.deploy import windows

    monkeypatch.setattr(windows, "THREADS", 2)
    day = predict.Windows(n_in=360 * 86400, fs_in=360.0, fs=360.0)  # 144 windows
    blocks = day.blocks()
    assert [b.start for b in blocks] == list(range(0, 144, 18)) and blocks[-1].stop == 144
    assert predict.Windows(360 * 3600 * 3, 360.0, 360.0).blocks() == [range(18)]  # one block
    seen = []

    def work(k):
        seen.append(k)
        return k * k

    assert list(predict.in_threads(work, range(20))) == [k * k for k in range(20)]  # in order
    assert sorted(seen) == list(range(20))


def test_a_beat_at_a_seam_is_found_once(monkeypatch):
    """Windows whose margins see the same beats: every beat once, wherever the seam falls."""
    fs, rr = 360.0, 0.8
    truth = np.arange(int(0.5 * fs), int(3600 * fs), int(rr * fs))

    def fake_detect(x, fs_, method, refine):  # finds every true beat in what it is given
        return np.flatnonzero(np.isin(np.arange(len(x)), truth - fake_detect.offset))

    rec = recording.Recording(fs, int(3600 * fs), "MLII", "x", ["MLII"], "given",
                              lambda a, b: np.zeros(b - a))  # fmt: skip
    win = predict.Windows(rec.n_samples, fs, fs, 600.0)

    def read(rec_, win_, i, j=None):
        lo, hi = win_.span(i, j)
        fake_detect.offset = lo
        return np.zeros(hi - lo), lo

    monkeypatch.setattr(predict, "read_windows", read)
    monkeypatch.setattr(predict, "detect_rpeaks", fake_detect)
    found = predict.detect_in_windows(rec, win, "pantompkins")
    np.testing.assert_array_equal(found, truth)


def test_pieces_read_and_prepare_each_window_once():
    """A neighbourhood from :class:`Pieces` is the span read whole and prepared (a filter shorter
    than the margin), with the same first sample; each window is read once however many
    neighbourhoods hold it."""
    from scipy.ndimage import median_filter

    fs = 360.0
    x = np.random.default_rng(1).normal(size=int(3600 * fs))
    win = predict.Windows(len(x), fs, fs, 600.0)
    reads = []

    def read(j):
        reads.append(j)
        lo, hi = win.span(j)
        return x[lo:hi], lo

    def prepare(y):
        return y - median_filter(y, size=217, mode="nearest")

    pieces = predict.Pieces(read, win, prepare)
    for i in range(len(win)):
        first, last = win.neighbourhood(i)
        got, offset = pieces.get(first, last)
        lo, hi = win.span(first, last)
        assert offset == lo and len(got) == hi - lo
        np.testing.assert_allclose(got[300:-300], prepare(x[lo:hi])[300:-300], atol=1e-12)
        assert len(pieces.kept) <= 5
    assert sorted(reads) == list(range(len(win)))


@pytest.mark.integration
def test_a_recording_read_in_windows_gets_the_answer_of_the_whole(mitdb_ready):
    """Half an hour of record 208 in ten-minute windows, read against one neighbourhood: the same
    beats and the same classes as the recording read as one piece; against each window's own
    (deployment's), the same beats and nearly the same classes."""
    from ecgutils.data import load_record

    rec = load_record("208")
    ecg = predict.ecg_from_array(rec.signal, rec.fs, lead="MLII")
    model = predict.load_deployed_model("trees")
    whole = predict.predict_ecg(ecg, model, window_s=1e9).beats
    windows = predict.predict_ecg(ecg, model, reference_s=1800).beats
    own = predict.predict_ecg(ecg, model).beats
    assert len(predict.Windows(len(rec.signal), rec.fs, model.fs)) == 3
    assert len(whole) == len(windows) == len(own)
    for col in ("start", "end", "r", "class", "edge"):
        np.testing.assert_array_equal(windows[col].to_numpy(), whole[col].to_numpy(), col)
        if col != "class":
            np.testing.assert_array_equal(own[col].to_numpy(), whole[col].to_numpy(), col)
    assert (own["class"] == whole["class"]).mean() > 0.95


@pytest.mark.integration
def test_a_long_recording_is_read_from_disk_window_by_window(mitdb_ready, tmp_path):
    """Two hours joined from four records, written as one WFDB record: read in windows (never
    whole), every window's beats described against their own ten minutes."""
    import wfdb

    from ecgutils.data import load_record

    names = ["100", "119", "208", "232"]
    parts = [load_record(n).signal for n in names]
    x = np.concatenate(parts)
    digital = np.round(200 * x).astype(np.int16)[:, None]
    wfdb.wrsamp("long", fs=360, units=["mV"], sig_name=["MLII"], d_signal=digital, fmt=["16"],
                adc_gain=[200.0], baseline=[0], write_dir=str(tmp_path))  # fmt: skip
    rec = recording.open_recording(tmp_path / "long.hea")
    longest = []
    reader = rec.reader
    rec.reader = lambda a, b: longest.append(b - a) or reader(a, b)
    shares = []
    pred = predict.predict_recording(rec, progress=shares.append)
    assert max(longest) < 0.6 * rec.n_samples and shares[-1] == 1.0
    pieces = []
    for k, part in enumerate(parts):  # the same beats read as half-hour files
        p = predict.predict_ecg(predict.ecg_from_array(part, 360.0), window_s=1e9).beats
        pieces.append(p.assign(r=p["r"] + sum(len(q) for q in parts[:k])))
    pieces = __import__("pandas").concat(pieces, ignore_index=True)
    common = np.intersect1d(pred.beats["r"], pieces["r"])
    assert len(common) >= 0.99 * len(pieces)
    a = pred.beats.set_index("r").loc[common, "class"]
    b = pieces.set_index("r").loc[common, "class"]
    assert (a == b).mean() >= 0.97  # 99.6% measured (with half an hour around each window: 93.7%)
