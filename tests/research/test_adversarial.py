"""ecgutils.research.adversarial: the CNN recipe trained against a patient critic."""

from __future__ import annotations

import numpy as np
import pytest

from ecgutils.research import adversarial


def test_the_reversal_layer_passes_values_and_reverses_gradients():
    import tensorflow as tf

    reverse = adversarial._reverse_gradient()
    x = tf.Variable([[1.0, -2.0, 3.0]])
    with tf.GradientTape() as tape:
        y = reverse(x, tf.constant(0.3))
        loss = tf.reduce_sum(y * tf.constant([[1.0, 2.0, 3.0]]))
    np.testing.assert_allclose(y.numpy(), x.numpy())
    np.testing.assert_allclose(tape.gradient(loss, x).numpy(), [[-0.3, -0.6, -0.9]], rtol=1e-6)


def test_patient_coded_labels_carry_class_and_patient():
    class Data:
        beats = "the beats"

    coded = adversarial._PatientCoded(Data(), np.array([0, 5 + 2, 10 + 4]))
    y = coded.labels("aami5")
    assert (y % 5).tolist() == [0, 2, 4] and (y // 5).tolist() == [0, 1, 2]
    assert coded.beats == "the beats"  # everything else is the data set's


@pytest.mark.integration
def test_adversarial_training_returns_the_plain_network(tiny):
    from ecgutils.dataset import build_dataset
    from ecgutils.research.studies import INTERPATIENT
    from ecgutils.train import config_from_profile

    cfg = config_from_profile(tiny, **{**INTERPATIENT, "ensemble": 2})
    ds = build_dataset(tiny, size=cfg.size, rule=cfg.rule, scale=cfg.scale, progress=False)
    labels = ds.labels(cfg.scheme)
    records = ds.beats["record"].astype(str).to_numpy()
    ok = (labels >= 0) & (labels < 4)
    train = np.flatnonzero(ok & np.isin(records, ["100", "207"]))[::3]  # two patients
    val = np.flatnonzero(ok & (records == "107"))[:200]
    model, history, seconds = adversarial.train_adversarial(cfg, ds, train, val)
    assert [t.name.split(":")[0] for t in model.inputs] == ["image", "rr"]
    assert model.name == "ensemble_of_2" and seconds > 0
    assert {"class_loss", "critic_loss", "val_class_loss", "member"} <= set(history.columns)
    assert np.isfinite(history["critic_loss"]).all() and history["member"].nunique() == 2
    from ecgutils.train import model_inputs

    x = model_inputs(ds, val[:50], cfg)
    p = np.asarray(model([x["image"], x["rr"]], training=False))
    np.testing.assert_allclose(p.sum(axis=1), 1, rtol=1e-5)
    with pytest.raises(ValueError, match="trainer must be one of"):
        from ecgutils.research.transfer import fold_networks

        fold_networks(tiny, trainer="gan")
