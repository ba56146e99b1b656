"""Gradient-boosted trees on relative RR, rhythm and trace-minus-template features."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ecgutils import selftraining, trees
from ecgutils.dataset import BeatDataset


def line_image(row: int, size: int = 16, cols=None) -> np.ndarray:
    img = np.full((size, size), 255, np.uint8)
    img[row, slice(None) if cols is None else cols] = 0
    return img


def test_trace_difference_in_pixels_and_nan_without_ink():
    beats = np.stack([line_image(3), line_image(10, cols=slice(0, 8))])
    templates = np.stack([line_image(7), line_image(7)])
    diff = trees.trace_difference(beats, templates, chunk=1)
    assert diff.shape == (2, 16) and diff.dtype == np.float32
    np.testing.assert_allclose(diff[0], 4.0)  # 4 rows higher than its template
    np.testing.assert_allclose(diff[1, :8], -3.0)
    assert np.isnan(diff[1, 8:]).all()
    with pytest.raises(ValueError, match="must match"):
        trees.trace_difference(beats, templates[:1])


def test_sample_weights_follow_the_power():
    labels = np.array([0] * 100 + [1] * 25 + [2] * 4)
    w = trees.sample_weights(labels, 4, 0.5)
    assert w[0] == 1.0 and w[100] == pytest.approx(2.0) and w[-1] == pytest.approx(5.0)
    assert np.all(trees.sample_weights(labels, 4, 0.0) == 1.0)


def test_ensemble_gives_every_class_a_column():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 2, 3], 60)
    x = (y[:, None] + 0.1 * rng.standard_normal((len(y), 2))).astype(np.float32)
    x[::7, 1] = np.nan  # missing values are allowed
    ens = trees.train_trees(x, y, list("NSVFQ"), n_models=2, max_iter=20)
    p = ens.predict_proba(x)
    assert p.shape == (len(y), 5) and np.allclose(p.sum(1), 1)
    assert np.all(p[:, [1, 4]] == 0) and (p.argmax(1) == y).mean() > 0.95


def test_tree_features_need_templates():
    ds = BeatDataset(np.zeros((2, 8, 8), np.uint8), pd.DataFrame({"record": ["1", "1"]}), {})
    with pytest.raises(ValueError, match="scale='patient'"):
        trees.tree_features(ds)


@pytest.mark.integration
def test_trees_train_on_ds1_score_ds2_and_reload(mitdb_ready, monkeypatch):
    tt = trees.load_or_train_trees("quick", n_models=1, max_iter=40)
    records = tt.dataset.beats["record"].astype(str).to_numpy()
    assert set(records[tt.split["train"]]) == {"207"} and set(records[tt.split["test"]]) == {"100"}
    assert tt.probabilities.shape == (len(tt.split["test"]), 5)
    ec = tt.metrics["ec57"]
    assert ec["n"] == len(tt.split["test"]) and 0.95 < ec["accuracy"] <= 1  # N alone: 0.985
    assert tt.metadata["features"] == "7 relative RR + 4 rhythm + 32 trace differences"

    def no_training(*args, **kwargs):
        raise AssertionError("the trees should come from their cache")

    monkeypatch.setattr(trees.TreesClassifier, "fit", no_training)
    again = trees.load_or_train_trees("quick", n_models=1, max_iter=40)
    np.testing.assert_array_equal(again.probabilities, tt.probabilities)
    np.testing.assert_allclose(
        again.trees.predict_proba(trees.tree_features(again.dataset)[again.split["test"]]),
        tt.probabilities,
    )


@pytest.mark.integration
def test_one_cached_fit_keyed_by_the_estimator_and_the_rows(mitdb_ready, monkeypatch):
    """fit_cached fits once per (estimator parameters, data set, rows): the same call again reads
    the fit back; other rows or other parameters are another entry."""
    from ecgutils.dataset import build_dataset

    ds = build_dataset("quick", rule="fixed", scale="patient", progress=False)
    rows, other = np.arange(0, 3000, 3), np.arange(1, 3000, 3)
    est = trees.TreesClassifier(5, n_models=1, max_iter=15, progress=False)
    fitted, meta, probs = trees.fit_cached(est, ds, rows, label="test-fit", predict=other)
    assert probs.shape == (len(other), 5) and not hasattr(est, "estimators_")  # a copy is fitted
    assert sum(meta["beats"].values()) == len(rows) and meta["params"]["max_iter"] == 15
    monkeypatch.setattr(trees.TreesClassifier, "fit", lambda *a, **k: pytest.fail("refitted"))
    again, meta2, probs2 = trees.fit_cached(est, ds, rows, label="test-fit", predict=other)
    assert meta2["key"] == meta["key"]
    np.testing.assert_array_equal(probs2, probs)
    np.testing.assert_allclose(again.predict_proba(trees.tree_features(ds)[other]), probs)
    with pytest.raises(pytest.fail.Exception, match="refitted"):
        trees.fit_cached(est, ds, other, label="test-fit")  # other rows: fitted anew
    with pytest.raises(pytest.fail.Exception, match="refitted"):
        trees.fit_cached(
            trees.TreesClassifier(5, n_models=1, max_iter=16), ds, rows, label="test-fit"
        )


@pytest.mark.integration
def test_deployment_computes_the_features_training_used(mitdb_ready):
    """One truth: trees.recording_features (deployment: a signal and its beat table) gives the
    rows trees.tree_features gives for the same beats of the patient-scale data set."""
    from ecgutils.data import load_record
    from ecgutils.dataset import build_dataset

    ds = build_dataset("quick", rule="fixed", scale="patient", progress=False)
    p = ds.params
    all_features = trees.tree_features(ds)
    for name in ("100", "207"):
        rows = np.flatnonzero(ds.beats["record"].astype(str).to_numpy() == name)
        table = ds.beats.iloc[rows].reset_index(drop=True)
        got = trees.recording_features(
            load_record(name, warn=False).signal, 360.0, table, size=p["size"],
            line_width=p["line_width"], mv_range=p["mv_range"],
        )  # fmt: skip
        np.testing.assert_allclose(got, all_features[rows], rtol=1e-5, atol=1e-5)


def test_trees_stop_early_when_every_class_can_be_split():
    assert trees.can_stop_early(np.array([0, 0, 1, 1, 1, 3, 3]))
    assert not trees.can_stop_early(np.array([0, 0, 1, 3, 3]))  # one beat of class 1
    assert not trees.can_stop_early(np.array([], dtype=int))


@pytest.mark.integration
def test_self_training_never_reads_a_test_patients_label(mitdb_ready, monkeypatch):
    """Self-training labels each DS2 patient's beats with the DS1 trees, never with the reference:
    overwriting every DS2 reference label leaves its probabilities unchanged."""
    from ecgutils.config import DS2

    base_args = {"n_models": 1, "max_iter": 40}
    res = selftraining.self_trained_trees("quick", trees=base_args, progress=False)
    base = trees.load_or_train_trees("quick", **base_args)
    assert res.probabilities.shape == base.probabilities.shape
    sure = int((base.probabilities.max(axis=1) >= 0.9).sum())
    assert sum(sum(v.values()) for v in res.metadata["own training beats"].values()) == sure
    assert 0.95 < res.metrics["ec57"]["accuracy"] <= 1
    labels = BeatDataset.labels

    def ds2_all_normal(self, scheme):
        out = labels(self, scheme).copy()
        ds2 = self.beats["record"].astype(str).isin(DS2).to_numpy() & (out >= 0)
        out[ds2] = 0
        return out

    monkeypatch.setattr(BeatDataset, "labels", ds2_all_normal)
    try:
        again = selftraining.self_trained_trees(
            "quick", trees=base_args, retrain=True, progress=False
        )
    finally:  # the store's entry made again with the true labels, for the next run
        monkeypatch.undo()
        selftraining.self_trained_trees("quick", trees=base_args, retrain=True, progress=False)
    np.testing.assert_array_equal(again.probabilities, res.probabilities)
    assert (again.labels == 0).all() and not (res.labels == 0).all()  # the truth did change


def test_self_training_takes_only_confident_beats_with_the_trees_labels():
    """One patient's self-training: beats at or above the confidence keep the trees' class as
    their label (-1 for the others), and the new probabilities cover every beat of the patient."""
    rng = np.random.default_rng(0)
    classes = ["N", "S", "V"]
    train_x = rng.normal(size=(300, 4))
    train_y = np.repeat([0, 1, 2], 100)
    train_x[:, 0] += train_y * 3  # separable on the first feature
    x = rng.normal(size=(6, 4))
    probs = np.array(
        [[0.95, 0.03, 0.02], [0.5, 0.4, 0.1], [0.05, 0.92, 0.03], [0.1, 0.1, 0.8],
         [0.0, 0.0, 1.0], [0.89, 0.11, 0.0]]
    )  # fmt: skip
    out, own = selftraining.self_train_record(train_x, train_y, x, probs, classes, confidence=0.9,
                                       max_iter=20)  # fmt: skip
    assert own.tolist() == [0, -1, 1, -1, 2, -1]
    assert out.shape == (6, 3) and np.allclose(out.sum(axis=1), 1)


def test_a_weighted_sample_weighs_what_the_whole_set_would():
    """Beats standing for several give the class weights and the class totals of the whole set."""
    labels = np.array([0] * 100 + [1] * 25 + [2] * 4)
    whole = trees.sample_weights(labels, 4, 0.5)
    sample = np.r_[0, 0, 1, 2, 2, 2, 2]  # 2 N beats standing for 100, 1 S for 25, every V
    stands = np.r_[50.0, 50.0, 25.0, 1.0, 1.0, 1.0, 1.0]
    w = trees.sample_weights(sample, 4, 0.5, stands)
    for k in range(3):
        assert w[sample == k].sum() == pytest.approx(whole[labels == k].sum())
    np.testing.assert_array_equal(trees.sample_weights(labels, 4, 0.5, np.ones(len(labels))), whole)


def test_training_sample_caps_each_class_and_says_what_each_beat_stands_for():
    rng = np.random.default_rng(1)
    labels = np.repeat([0, 1, 2], [500, 30, 120])
    x = rng.normal(size=(len(labels), 3)).astype(np.float32)
    sx, sy, stands = selftraining.training_sample(x, labels, 4, cap=100, seed=7)
    assert sx.dtype == np.float16 and sy.dtype == np.int8 and len(sx) == len(sy) == len(stands)
    assert np.bincount(sy, minlength=4).tolist() == [100, 30, 100, 0]
    for k, n in enumerate([500, 30, 120]):
        assert stands[sy == k].sum() == pytest.approx(n)  # the sample stands for the whole class
    # rows keep their features (to float16) and the draw is seeded
    rows = [np.flatnonzero((x.astype(np.float16) == r).all(axis=1))[0] for r in sx[:5]]
    assert labels[rows].tolist() == sy[:5].tolist()
    again = selftraining.training_sample(x, labels, 4, cap=100, seed=7)
    assert all(np.array_equal(a, b) for a, b in zip((sx, sy, stands), again, strict=True))
    with pytest.raises(ValueError, match="at least 1"):
        selftraining.training_sample(x, labels, 4, cap=0)


def test_self_training_on_a_sample_of_ones_is_self_training_on_the_set():
    """``stands_for`` of 1 for every training beat changes nothing, to the last bit."""
    rng = np.random.default_rng(2)
    train_y = np.repeat([0, 1, 2], [120, 30, 50])
    train_x = rng.normal(size=(len(train_y), 3)) + train_y[:, None]
    x = rng.normal(size=(40, 3)) + rng.integers(0, 3, 40)[:, None]
    probs = np.eye(3)[np.clip(np.rint(x[:, 0]), 0, 2).astype(int)] * 0.95 + 0.05 / 3
    kw = {"confidence": 0.9, "max_iter": 15}
    a, own_a = selftraining.self_train_record(train_x, train_y, x, probs, list("NSV"), **kw)
    b, own_b = selftraining.self_train_record(
        train_x, train_y, x, probs, list("NSV"), stands_for=np.ones(len(train_y)), **kw
    )
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(own_a, own_b)


def test_trees_are_a_scikit_learn_estimator_saved_as_scikit_learns_own_objects(tmp_path):
    """TreesClassifier: parameters in ``__init__`` (clone keeps them, unfitted), ``fit`` and
    ``predict_proba``; its file holds scikit-learn's models and plain settings, no class of the
    course, and reads back to the same probabilities."""
    import pickle
    import pickletools

    from sklearn.base import clone

    rng = np.random.default_rng(1)
    x = rng.normal(size=(200, 3))
    y = (x[:, 0] > 0).astype(int) + 2 * (x[:, 1] > 1)
    est = trees.TreesClassifier(4, n_models=2, max_iter=20, balance_power=0.5)
    twin = clone(est)
    assert twin.get_params() == est.get_params() and not hasattr(twin, "estimators_")
    p = est.fit(x, y).predict_proba(x)
    assert p.shape == (200, 4) and np.allclose(p.sum(axis=1), 1.0)
    np.testing.assert_array_equal(p, twin.fit(x, y).predict_proba(x))
    trees.save_trees(est, tmp_path / "trees.pkl")
    opcodes = " ".join(
        str(arg) for _, arg, _ in pickletools.genops((tmp_path / "trees.pkl").read_bytes())
    )
    assert "ecgutils" not in opcodes and "sklearn" in opcodes
    back = trees.load_trees(tmp_path / "trees.pkl")
    np.testing.assert_array_equal(back.predict_proba(x), p)
    assert isinstance(pickle.loads(pickle.dumps(back)), trees.TreesClassifier)


def test_self_training_wraps_any_estimator():
    """self_train_record fits a clone of the estimator it is given (here scikit-learn's own
    trees) on the training beats and the patient's confident ones."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    rng = np.random.default_rng(2)
    x = rng.normal(size=(300, 2))
    y = (x[:, 0] > 0).astype(int)
    new = rng.normal(size=(50, 2))
    probs = np.c_[new[:, 0] <= 0, new[:, 0] > 0].astype(float)
    est = HistGradientBoostingClassifier(max_iter=10)
    out, own = selftraining.self_train_record(x, y, new, probs, ["N", "S"], estimator=est)
    assert out.shape == (50, 2) and (own >= 0).all() and not hasattr(est, "n_iter_")
