"""Baselines without images: is a CNN on beat images needed at all? (README, chapter 11)

Each beat becomes a plain vector: its waveform in a fixed window around R (0.25 s before to 0.45 s
after, mV, baseline removed, every third sample: 85 values at 360 Hz) next to its RR features.
Three classifiers read these vectors:

- ``1-NN``: the single nearest training beat (Euclidean, features standardised);
- ``trees``: gradient-boosted trees (``HistGradientBoostingClassifier``, square-root class weights);
- ``1-D CNN``: :func:`ecgutils.models.compact_cnn_1d` on the waveform with the RR features as its
  second input, trained like the 2-D one (square-root class weights, cosine schedule, early
  stopping on a stratified 10% of the training beats, at most :data:`CNN_EPOCHS` epochs).

They are scored on the same splits and with the same metrics as the CNNs: the paper's beat-level
hold-out (paper8 classes, 20% of beats, seed 2018; accuracy and macro sensitivity) and de Chazal's
DS1 -> DS2 (AAMI classes, EC57). On DS1 -> DS2 the RR features are the patient-relative ones
(:func:`ecgutils.dataset.relative_rr_features`), as for the inter-patient CNN.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from .. import store
from ..backend import fast_weighted_binning, import_keras
from ..config import MITDB_FS, Profile, get_profile
from ..data import expected_checksums, load_record
from ..dataset import relative_rr_features, rr_features
from ..evaluate import (
    classification_metrics,
    ec57_metrics,
    holdout_split,
    interpatient_rows,
    validation_split,
)
from ..render import remove_baseline
from ..segment import FIXED_WINDOW_S, segment_record
from ..train import class_weights
from ..trees import can_stop_early, sample_weights

#: Most epochs of the 1-D CNN (it stops early on its validation loss).
CNN_EPOCHS = 10
#: Keep every DECIMATE-th sample of the window (360 Hz -> 120 Hz; the QRS is still 10+ samples).
DECIMATE = 3
#: The baselines :func:`make_classifier` knows.
BASELINE_NAMES = ("1-NN", "trees", "1-D CNN")


def beat_waveforms(profile: Profile | str | None = None) -> tuple[np.ndarray, pd.DataFrame]:
    """Waveform vectors of every beat of a profile's records, with their beat table.

    Returns
    -------
    windows : (n, 85) float32 array, mV
        The baseline-free MLII signal from 0.25 s before R to 0.45 s after, every third sample.
    beats : DataFrame
        The beat table of :func:`ecgutils.segment.segment_record` (rule ``fixed``), same rows.
    """

    prof = get_profile(profile)
    before, after = (int(round(w * MITDB_FS)) for w in FIXED_WINDOW_S)
    offsets = np.arange(-before, after + 1, DECIMATE)

    def one(name):
        rec = load_record(name, warn=False)  # no MLII in 102 and 104: chapter 01 says so
        table = segment_record(rec, "fixed")
        x = remove_baseline(rec.signal, rec.fs)
        return x[table["r"].to_numpy()[:, None] + offsets].astype(np.float32), table

    with ThreadPoolExecutor(max_workers=2) as pool:
        parts = list(pool.map(one, prof.records))
    return np.concatenate([w for w, _ in parts]), pd.concat(
        [t for _, t in parts], ignore_index=True
    )


def baseline_features(windows: np.ndarray, beats: pd.DataFrame, *, relative: bool) -> np.ndarray:
    """(n, 85 + 7) float32: waveform then RR features (patient-relative ones if ``relative``)."""
    rr = relative_rr_features(beats) if relative else rr_features(beats)
    return np.column_stack([windows, rr]).astype(np.float32)


class OneDCNN:
    """:func:`ecgutils.models.compact_cnn_1d` behind scikit-learn's ``fit`` / ``predict``.

    Feature columns: the waveform first, the last ``n_features`` are the RR features.
    """

    def __init__(self, n_features: int = 7, seed: int = 2018, epochs: int = CNN_EPOCHS):
        self.n_features, self.seed, self.epochs = n_features, seed, epochs
        self.model = None

    def _inputs(self, x):
        wave, rr = x[:, : -self.n_features], x[:, -self.n_features :]
        return {"wave": wave[..., None], "rr": rr}

    def fit(self, x, y, sample_weight=None):
        from ..models import compact_cnn_1d  # deferred: ecgutils.models loads TensorFlow

        keras = import_keras()

        keras.utils.set_random_seed(self.seed)
        n_classes = int(y.max()) + 1
        tr, val = validation_split(np.arange(len(y)), y, 0.1, self.seed)
        self.model = compact_cnn_1d(x.shape[1] - self.n_features, n_classes)
        steps = int(np.ceil(len(tr) / 128)) * self.epochs
        self.model.compile(
            optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(2e-3, steps)),
            loss="sparse_categorical_crossentropy",
        )
        stop = keras.callbacks.EarlyStopping(patience=3, restore_best_weights=True)
        self.model.fit(
            self._inputs(x[tr]), y[tr], validation_data=(self._inputs(x[val]), y[val]),
            epochs=self.epochs, batch_size=128, class_weight=class_weights(y[tr], n_classes),
            callbacks=[stop], verbose=0,
        )  # fmt: skip
        return self

    def predict(self, x):
        return self.model.predict(self._inputs(x), batch_size=1024, verbose=0).argmax(axis=1)

    @property
    def parameters(self) -> int:
        return int(self.model.count_params())


def make_classifier(name: str, seed: int = 2018):
    """A fresh classifier with ``fit`` / ``predict``: ``1-NN``, ``trees`` or ``1-D CNN``."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if name == "1-NN":
        return make_pipeline(StandardScaler(), KNeighborsClassifier(n_neighbors=1, n_jobs=2))
    if name == "trees":
        return HistGradientBoostingClassifier(max_iter=300, random_state=seed)
    if name == "1-D CNN":
        return OneDCNN(seed=seed)
    raise ValueError(f"Unknown baseline {name!r}; choose '1-NN', 'trees' or '1-D CNN'.")


def _fit_score(name, x_train, y_train, x_test, n_classes):

    clf = make_classifier(name)
    t0 = time.perf_counter()
    if name == "trees":
        clf.set_params(early_stopping=can_stop_early(y_train))
        with fast_weighted_binning():  # the same trees, binned without 255 sorts per feature
            clf.fit(x_train, y_train, sample_weight=sample_weights(y_train, n_classes, 0.5))
    else:
        clf.fit(x_train, y_train)
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    pred = clf.predict(x_test)
    ms_per_beat = 1000 * (time.perf_counter() - t0) / max(len(x_test), 1)
    return pred, fit_s, ms_per_beat, getattr(clf, "parameters", np.nan)


def baseline_table(
    profile: Profile | str | None = None,
    models: tuple[str, ...] = ("1-NN", "trees", "1-D CNN"),
    *,
    cache: bool = True,
) -> pd.DataFrame:
    """Each baseline on the paper's beat-level hold-out and on DS1 -> DS2, side by side.

    Parameters
    ----------
    profile : Profile or str, optional
        Whose records (default: the active profile).
    models : tuple of str
        Baselines to fit (:func:`make_classifier` names), one row each, in this order.
    cache : bool
        Reuse the table of an earlier call with the same records, models, data and code
        (the store's ``data/models/baselines/<profile>-<key>/``; its fit and ms-per-beat
        columns are that run's timings); ``False`` fits everything again and replaces it.

    Returns
    -------
    DataFrame
        One row per baseline: hold-out accuracy and macro Se (paper8, %); DS1 -> DS2 accuracy
        and Se / +P of S and V (EC57, %); training seconds and ms per test beat of each;
        parameters (networks only).
    """
    prof = get_profile(profile)
    models = tuple(models)
    unknown = [m for m in models if m not in BASELINE_NAMES]
    if unknown:  # fail before any work
        choices = ", ".join(BASELINE_NAMES)
        raise ValueError(f"Unknown baseline {unknown[0]!r}; choose from {choices}.")
    spec = baseline_spec(prof, models)

    def build(folder: Path) -> None:
        _baseline_table(prof, models).to_csv(folder / "table.csv")

    folder, _ = store.get_or_build(spec, build, force=not cache)
    return pd.read_csv(folder / "table.csv", index_col=0)


def baseline_spec(profile: Profile | str | None, models: tuple[str, ...]) -> store.Spec:
    """The store entry of :func:`baseline_table` for these records and baselines."""
    prof = get_profile(profile)
    settings = {
        "records": list(prof.records),
        "models": list(models),
        "decimate": DECIMATE,
        "window_s": list(FIXED_WINDOW_S),
        "cnn_epochs": CNN_EPOCHS,
    }
    sums = expected_checksums()
    return store.Spec(
        kind="baselines",
        label=prof.name,
        params=settings,
        module=__name__,
        data=store.key_of([sums[f"{r}.{e}"] for r in prof.records for e in ("hea", "dat", "atr")]),
    )


def _baseline_table(prof: Profile, models: tuple[str, ...]) -> pd.DataFrame:

    windows, beats = beat_waveforms(prof)
    intra_x = baseline_features(windows, beats, relative=False)
    inter_x = baseline_features(windows, beats, relative=True)
    paper8, aami5 = beats["paper8"].to_numpy(np.int64), beats["aami5"].to_numpy(np.int64)
    train, test = holdout_split(paper8, 0.2, 2018)
    ip_train, ip_test = interpatient_rows(beats, aami5)

    rows = {}
    bar = tqdm(models, desc="Baselines", unit="model")
    for name in bar:
        bar.set_postfix_str(name)
        pred, fit_s, ms, params = _fit_score(name, intra_x[train], paper8[train], intra_x[test], 8)
        m = classification_metrics(paper8[test], pred, "paper8")
        row = {
            "hold-out accuracy (%)": 100 * m["accuracy"],
            "hold-out macro Se (%)": 100 * m["macro"]["se"],
            "hold-out fit (s)": fit_s,
            "hold-out ms/beat": ms,
            "parameters": params,
        }
        pred, fit_s, ms, _ = _fit_score(
            name, inter_x[ip_train], aami5[ip_train], inter_x[ip_test], 5
        )
        ec = ec57_metrics(aami5[ip_test], pred)
        row["DS2 accuracy (%)"] = 100 * ec["accuracy"]
        for c in "SV":
            row[f"DS2 {c} Se (%)"] = 100 * ec["per_class"][c]["se"]
            row[f"DS2 {c} +P (%)"] = 100 * ec["per_class"][c]["ppv"]
        row["DS1 fit (s)"], row["DS2 ms/beat"] = fit_s, ms
        rows[name] = row
    return pd.DataFrame(rows).T


def trained_model_row(trained, *, repeats: int = 2) -> pd.Series:
    """A trained course CNN (:class:`ecgutils.train.TrainedModel`) as a row of
    :func:`baseline_table`: parameters, its own hold-out accuracy and macro Se (%), its training
    seconds (from its metadata) and the ms per test beat of classifying its test images (the
    best of ``repeats`` timed passes after one warm-up, images already drawn, on this machine).
    The DS2 columns stay empty: a model trained on a random split has no DS1 -> DS2 figure."""
    test = np.asarray(trained.split["test"])
    trained.predict(test[:256])  # warm-up: graph tracing, thread pools
    best = np.inf
    for _ in range(max(repeats, 1)):
        t0 = time.perf_counter()
        trained.predict(test)
        best = min(best, time.perf_counter() - t0)
    m = trained.metrics
    return pd.Series(
        {
            "hold-out accuracy (%)": 100 * m["accuracy"],
            "hold-out macro Se (%)": 100 * m["macro"]["se"],
            "hold-out fit (s)": trained.metadata.get("train_seconds", np.nan),
            "hold-out ms/beat": 1000 * best / max(len(test), 1),
            "parameters": trained.model.count_params(),
        },
        dtype=float,
    )
