"""What a CNN looks at: Grad-CAM, occlusion, and the heat on the time axis (notebook 11).

- :func:`grad_cam` (Selvaraju et al. 2017): the feature maps of one convolution layer, weighted
  by the gradient of the class score (the pre-softmax logit) averaged over each map, summed,
  ReLU, upsampled to the image and scaled to [0, 1]. Computed with ``tf.GradientTape``;
  :func:`grad_cam_layers` does it for every convolution layer at once.
- :func:`occlusion` (Zeiler & Fergus 2014): slide a blank patch over the image and record how
  much the class probability drops; model-agnostic, slower, a cross-check of Grad-CAM.
- :func:`column_heat` and :func:`column_times` map an image's heat back onto the beat: each
  image column is a stretch of samples, so the heat along the drawn trace becomes a heat per
  moment of the beat, in seconds from its R peak; :func:`wave_shares` sums it over the P wave,
  the QRS complex and the ST-T segment (typical windows, :data:`WAVE_WINDOWS`).

Models are Keras models whose image input is named ``image`` (uint8-valued, 255 = background,
shape ``(n, size, size, channels)``), alone or with a feature input ``rr`` (the course's CNNs,
:mod:`ecgutils.models`). :func:`trained_inputs` builds those inputs for a trained model's beats,
:func:`examples_per_class` picks test beats per class, and :func:`swap_rr` classifies a beat with
another beat's timing.

Source: chapter 11 (``notebooks/11_explain.ipynb``) writes :func:`grad_cam_maps` (cells marked
``#| export``; a test fails when chapter and package differ).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .backend import import_keras, import_tensorflow
from .classes import WAVE_WINDOWS, scheme_classes  # noqa: F401  (WAVE_WINDOWS: chapter 11 reads it here)
from .config import get_profile
from .train import load_or_train
from .train import model_inputs as inputs_of

#: TensorFlow, imported quietly when this module is imported (Grad-CAM needs its GradientTape).
tf = import_tensorflow()


def conv_layers(model) -> list[str]:
    """Names of the model's 2-D convolution layers, input to output (the last one: Grad-CAM's
    usual choice)."""
    keras = import_keras()

    names = [layer.name for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    if not names:
        raise ValueError(f"Model {model.name!r} has no Conv2D layer to explain.")
    return names


def as_inputs(model, inputs) -> dict:
    """``inputs`` as a dict keyed by the model's input names (an array means the image)."""
    if isinstance(inputs, dict):
        return {k: np.asarray(v, dtype=np.float32) for k, v in inputs.items()}
    x = np.asarray(inputs, dtype=np.float32)
    if x.ndim == 3:
        x = x[..., None]
    return {"image": x}


def predict_batch(model, inputs: dict):
    """The model's outputs for a dict of inputs (:func:`as_inputs`), in inference mode."""
    names = [t.name.split(":")[0] for t in model.inputs]
    if len(names) == 1:
        return model(inputs["image"], training=False)
    return model({k: inputs[k] for k in names}, training=False)


def score_model(model, layer: str):
    """A function from the inputs (a dict: ``image``, and ``rr`` if the model takes it) to (the
    layer's feature maps, the class scores): what :func:`grad_cam_maps` differentiates.

    Scores are the logits when the last layer is a softmax ``Dense`` (gradients of a
    saturated probability vanish), else the log-probabilities.
    """
    keras = import_keras()

    last = model.layers[-1]
    activation = getattr(last, "activation", None)
    softmax_dense = isinstance(last, keras.layers.Dense) and (
        getattr(activation, "__name__", "") == "softmax"
    )
    head = last.input if softmax_dense else model.output
    inner = keras.Model(model.inputs, [model.get_layer(layer).output, head])

    def scores(inputs):
        maps, h = predict_batch(inner, inputs)
        if softmax_dense:
            return maps, keras.ops.matmul(h, last.kernel) + last.bias
        return maps, keras.ops.log(keras.ops.maximum(h, 1e-12))

    return scores


def grad_cam_maps(scores_of, inputs: dict, class_index=None):
    """Grad-CAM of one batch at one layer, before upsampling.

    ``scores_of(inputs)`` returns (the layer's feature maps A, (n, h, w, k); the class scores
    y, (n, n_classes), logits). Each map k gets the weight alpha_k = the mean over its cells of
    d y_c / d A_k; the heat is ReLU(sum over k of alpha_k A_k). ``class_index``: the class c per
    image ((n,) ints); None: the predicted one. Returns (heat (n, h, w), c (n,)).
    """
    with tf.GradientTape() as tape:
        maps, scores = scores_of(inputs)
        if class_index is None:
            class_index = tf.argmax(scores, axis=1)
        target = tf.gather(scores, class_index, axis=1, batch_dims=1)  # y_c of each image
    grads = tape.gradient(target, maps)  # d y_c / d A, (n, h, w, k)
    alpha = tf.reduce_mean(grads, axis=(1, 2), keepdims=True)  # one weight per map
    heat = tf.nn.relu(tf.reduce_sum(alpha * maps, axis=-1))  # where the maps push c up
    return heat, class_index


def grad_cam(
    model,
    inputs,
    *,
    layer: str | None = None,
    class_index: np.ndarray | int | None = None,
    batch_size: int = 128,
) -> tuple[np.ndarray, np.ndarray]:
    """Grad-CAM heat maps of ``model`` for a batch of beat images.

    Parameters
    ----------
    model : keras.Model
        A CNN with an ``image`` input (and optionally ``rr``).
    inputs : (n, size, size[, channels]) array, or dict with ``image`` (and ``rr``)
        Images as the model takes them (uint8 values, 255 = background).
    layer : str, optional
        A Conv2D layer's name (:func:`conv_layers`); default: the last one.
    class_index : int or (n,) int array, optional
        The class explained per image; default: the predicted class.
    batch_size : int

    Returns
    -------
    heat : (n, size, size) float32 array
        In [0, 1] per image (all zero where no map pushed towards the class).
    class_index : (n,) int array
        The class each map explains.
    """
    layer = layer or conv_layers(model)[-1]
    inputs = as_inputs(model, inputs)
    n, size = len(inputs["image"]), inputs["image"].shape[1:3]
    scores_of = score_model(model, layer)
    if class_index is None:
        chosen = None
    else:
        chosen = np.broadcast_to(np.asarray(class_index, dtype=np.int64), (n,)).copy()
    heat = np.zeros((n, *size), dtype=np.float32)
    picked = np.zeros(n, dtype=np.int64)
    for i in range(0, n, batch_size):
        part = {k: tf.convert_to_tensor(v[i : i + batch_size]) for k, v in inputs.items()}
        cls = None if chosen is None else tf.convert_to_tensor(chosen[i : i + batch_size])
        cam, cls = grad_cam_maps(scores_of, part, cls)
        cam = tf.image.resize(cam[..., None], size, method="bilinear")[..., 0].numpy()
        top = cam.reshape(len(cam), -1).max(axis=1)
        heat[i : i + batch_size] = cam / np.where(top > 0, top, 1.0)[:, None, None]
        picked[i : i + batch_size] = np.asarray(cls)
    return heat, picked


def grad_cam_layers(
    model,
    inputs,
    *,
    layers: Sequence[str] | None = None,
    class_index: np.ndarray | int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Grad-CAM of the same images and classes at several convolution layers.

    Parameters
    ----------
    model, inputs : as for :func:`grad_cam`
    layers : sequence of str, optional
        Conv2D layer names; default: every one, input to output (:func:`conv_layers`).
    class_index : int or (n,) int array, optional
        The class explained per image; default: the predicted class, the same at every layer.

    Returns
    -------
    heat : (n_layers, n, size, size) float32 array
        :func:`grad_cam`'s maps, one stack per layer.
    class_index : (n,) int array
    """
    layers = list(layers) if layers is not None else conv_layers(model)
    if not layers:
        raise ValueError("No layers given: name at least one Conv2D layer (see conv_layers).")
    first, cls = grad_cam(model, inputs, layer=layers[0], class_index=class_index)
    rest = [grad_cam(model, inputs, layer=name, class_index=cls)[0] for name in layers[1:]]
    return np.stack([first, *rest]), cls


def occlusion(
    model,
    inputs,
    *,
    class_index: np.ndarray | int | None = None,
    patch: int | None = None,
    stride: int | None = None,
    fill: float = 255.0,
    batch_size: int = 1024,
) -> tuple[np.ndarray, np.ndarray]:
    """Occlusion sensitivity: the drop in class probability when a patch of the image is blanked.

    A ``patch`` x ``patch`` square (default: 1/8 of the side) set to ``fill`` (255: background,
    i.e. the ink there is erased) slides over the image in steps of ``stride`` (default: half a
    patch); each pixel gets the mean drop over the patches that cover it. Every channel is
    blanked; the ``rr`` input is left as it is.

    Returns
    -------
    drop : (n, size, size) float32 array
        Probability of the class without occlusion minus with it (negative: hiding that part
        makes the class *more* likely).
    class_index : (n,) int array
        The class measured per image (default: the predicted one).
    """
    inputs = as_inputs(model, inputs)
    images = inputs["image"]
    n, side = len(images), images.shape[1]
    patch = patch or max(2, side // 8)
    stride = stride or max(1, patch // 2)
    base = np.asarray(predict_batch(model, inputs))
    cls = base.argmax(axis=1) if class_index is None else np.broadcast_to(class_index, (n,))
    cls = np.asarray(cls, dtype=np.int64)
    p0 = base[np.arange(n), cls]
    starts = list(range(0, side - patch + 1, stride))
    if starts[-1] != side - patch:
        starts.append(side - patch)
    positions = [(y, x) for y in starts for x in starts]
    total = np.zeros((n, side, side), dtype=np.float64)
    cover = np.zeros((side, side), dtype=np.float64)
    per_call = max(1, batch_size // max(n, 1))
    for j in range(0, len(positions), per_call):
        chunk = positions[j : j + per_call]
        occluded = np.repeat(images[None], len(chunk), axis=0)  # (k, n, s, s, c)
        for k, (y, x) in enumerate(chunk):
            occluded[k, :, y : y + patch, x : x + patch] = fill
        batch = {key: np.tile(v, (len(chunk),) + (1,) * (v.ndim - 1)) for key, v in inputs.items()}
        batch["image"] = occluded.reshape(-1, *images.shape[1:])
        probs = np.asarray(predict_batch(model, batch)).reshape(len(chunk), n, -1)
        for k, (y, x) in enumerate(chunk):
            drop = p0 - probs[k, np.arange(n), cls]
            total[:, y : y + patch, x : x + patch] += drop[:, None, None]
            cover[y : y + patch, x : x + patch] += 1
    return (total / np.maximum(cover, 1)).astype(np.float32), cls


def column_heat(heat: np.ndarray, images: np.ndarray) -> np.ndarray:
    """The heat along the drawn trace, one value per image column.

    Parameters
    ----------
    heat : (n, size, size) float array
        E.g. :func:`grad_cam`'s maps.
    images : (n, size, size) uint8 array
        The beat images (255 = background; only the first channel if there are several).

    Returns
    -------
    (n, size) float32 array
        Per column, the heat averaged over the trace's pixels weighted by their ink; the
        column's mean heat where the column has no ink.
    """
    images = np.asarray(images)
    if images.ndim == 4:
        images = images[..., 0]
    if heat.shape != images.shape:
        raise ValueError(f"heat {heat.shape} and images {images.shape} must have the same shape.")
    ink = (255.0 - images.astype(np.float32)) / 255.0
    mass = ink.sum(axis=1)
    on_trace = (heat * ink).sum(axis=1) / np.where(mass > 0, mass, 1.0)
    return np.where(mass > 0, on_trace, heat.mean(axis=1)).astype(np.float32)


def trace_agreement(heat_a: np.ndarray, heat_b: np.ndarray, images: np.ndarray) -> np.ndarray:
    """How far two heat maps of the same beats agree along the trace: per beat, the Spearman
    rank correlation of their :func:`column_heat` profiles.

    Parameters
    ----------
    heat_a, heat_b : (n, size, size) float arrays
        E.g. Grad-CAM and occlusion (negative drops clipped to 0 first).
    images : (n, size, size) uint8 array

    Returns
    -------
    (n,) float array
        In [-1, 1]; NaN where one profile is constant.
    """
    from scipy.stats import rankdata

    ra = rankdata(column_heat(heat_a, images), axis=1)
    rb = rankdata(column_heat(heat_b, images), axis=1)
    ra -= ra.mean(axis=1, keepdims=True)
    rb -= rb.mean(axis=1, keepdims=True)
    denom = np.sqrt((ra**2).sum(axis=1) * (rb**2).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, (ra * rb).sum(axis=1) / denom, np.nan)


def column_times(beats: pd.DataFrame, size: int, fs: float = 360.0) -> np.ndarray:
    """(n, size) float: the time of each image column's centre, seconds from the beat's R peak.

    A beat's image spreads its samples ``start`` to ``end`` (exclusive) over ``size`` columns
    (:func:`ecgutils.render.render_beats`), so column ``j`` sits at sample
    ``start + (j + 0.5) * (end - start) / size``.
    """
    start = beats["start"].to_numpy(dtype=float)[:, None]
    end = beats["end"].to_numpy(dtype=float)[:, None]
    r = beats["r"].to_numpy(dtype=float)[:, None]
    centre = start + (np.arange(size)[None, :] + 0.5) * (end - start) / size
    return (centre - r) / fs


def wave_shares(times: np.ndarray, heat: np.ndarray) -> pd.DataFrame:
    """Share of each beat's column heat in each window of :data:`WAVE_WINDOWS`.

    Parameters
    ----------
    times : (n, size) float array
        :func:`column_times`, seconds from R.
    heat : (n, size) float array
        :func:`column_heat` (non-negative).

    Returns
    -------
    DataFrame
        One row per beat, one column per window, rows summing to 1 (NaN for a beat with no heat).
    """
    heat = np.clip(np.asarray(heat, dtype=float), 0, None)
    total = heat.sum(axis=1)
    out = {}
    for name, (lo, hi) in WAVE_WINDOWS.items():
        inside = (times >= lo) & (times < hi)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[name] = np.where(total > 0, (heat * inside).sum(axis=1) / total, np.nan)
    return pd.DataFrame(out)


def trained_inputs(trained, index: np.ndarray) -> dict:
    """The inputs a trained course model (:class:`ecgutils.train.TrainedModel`) takes for the
    beats ``index`` of its data set: ``image`` (n, size, size, channels) and, with RR features,
    ``rr`` (n, k) (:func:`ecgutils.train.model_inputs`)."""

    return inputs_of(trained.dataset, index, trained.config)


def examples_per_class(
    trained,
    per_class: int = 1,
    *,
    seed: int = 0,
    correct: bool | None = None,
    classes: Sequence[str] | None = None,
) -> np.ndarray:
    """Test beats of a trained course model, ``per_class`` of every class that has them.

    Parameters
    ----------
    trained : :class:`ecgutils.train.TrainedModel`
    per_class : int
        Beats per class (fewer where the test set has fewer).
    seed : int
        Which beats (random, reproducible).
    correct : bool, optional
        Only beats the model classifies correctly (True) or wrongly (False); default: any.
    classes : sequence of str, optional
        Only these classes (names of the model's scheme, e.g. ``["N", "V"]``); default: all.
        A name the scheme lacks is an error; a class without test beats gives no beats.

    Returns
    -------
    (k,) int array
        Indices into the model's data set, grouped by class in the scheme's order.
    """

    test = np.asarray(trained.split["test"])
    labels = trained.dataset.labels(trained.config.scheme)[test]
    if classes is not None:
        names = scheme_classes(trained.config.scheme)
        unknown = [c for c in classes if c not in names]
        if unknown:
            raise ValueError(
                f"Classes {unknown} are not in the model's scheme {trained.config.scheme!r} "
                f"(its classes: {', '.join(names)})."
            )
        keep = np.isin(labels, [names.index(c) for c in classes])
        test, labels = test[keep], labels[keep]
    if correct is not None:
        pred = trained.predict(test).argmax(axis=1)
        keep = (pred == labels) == correct
        test, labels = test[keep], labels[keep]
    rng = np.random.default_rng(seed)
    out = []
    for c in np.unique(labels[labels >= 0]):
        pool = test[labels == c]
        out.append(np.sort(rng.choice(pool, size=min(per_class, len(pool)), replace=False)))
    return np.concatenate(out) if out else np.array([], dtype=np.int64)


def explain_beats(trained, index: np.ndarray, *, layer: str | None = None) -> pd.DataFrame:
    """Grad-CAM of a trained course model on some of its beats, mapped onto their time axis.

    Returns
    -------
    DataFrame
        One row per beat: ``record``, ``beat``, ``true`` and ``predicted`` class, the share of
        the heat in each :data:`WAVE_WINDOWS` window, and the moment of peak heat
        (``peak_s``, seconds from R).
    """

    index = np.asarray(index)
    classes = scheme_classes(trained.config.scheme)
    inputs = trained_inputs(trained, index)
    heat, cls = grad_cam(trained.model, inputs, layer=layer)
    images = trained.dataset.images[index]
    per_col = column_heat(heat, images)
    beats = trained.dataset.beats.iloc[index]
    times = column_times(beats, images.shape[1])
    table = wave_shares(times, per_col)
    table.insert(0, "record", beats["record"].astype(str).to_numpy())
    table.insert(1, "beat", index)
    truth = trained.dataset.labels(trained.config.scheme)[index]
    table.insert(2, "true", [classes[t] if t >= 0 else "-" for t in truth])
    table.insert(3, "predicted", [classes[c] for c in cls])
    table["peak_s"] = times[np.arange(len(index)), per_col.argmax(axis=1)]
    return table


def swap_rr(trained, index: int, donor: int, *, class_name: str | None = None) -> pd.DataFrame:
    """Classify one beat twice: with its own RR features and with another beat's.

    The image stays the same; only the timing input changes. With an APC as ``index`` and a
    normal beat as ``donor`` this asks how much of the model's "APC" is timing (notebook 11).

    Parameters
    ----------
    trained : :class:`ecgutils.train.TrainedModel`
        A model with an RR input (``config.rr``).
    index, donor : int
        Beats of its data set: the one classified, and the one whose RR features it borrows.
    class_name : str, optional
        The class whose probability and Grad-CAM are reported; default: the beat's true class.

    Returns
    -------
    DataFrame
        Rows ``own RR`` and ``donor's RR``; columns ``predicted``, ``P(<class>)`` and
        ``heat centre (s from R)``: the heat-weighted mean time of the Grad-CAM along the beat.
    """

    if not trained.config.rr:
        raise ValueError("This model has no RR input (config.rr is False): nothing to swap.")
    names = scheme_classes(trained.config.scheme)
    if class_name is None:
        truth = int(trained.dataset.labels(trained.config.scheme)[index])
        if truth < 0:
            raise ValueError(f"Beat {index} has no class in the scheme: pass class_name.")
        class_name = names[truth]
    if class_name not in names:
        raise ValueError(f"{class_name!r} is not one of the model's classes ({', '.join(names)}).")
    c = names.index(class_name)
    own = trained_inputs(trained, np.array([index]))
    borrowed = {**own, "rr": trained_inputs(trained, np.array([donor]))["rr"]}
    image = trained.dataset.images[[index]]
    times = column_times(trained.dataset.beats.iloc[[index]], image.shape[1])[0]
    rows = {}
    for label, inputs in (("own RR", own), ("donor's RR", borrowed)):
        prob = trained.model.predict(inputs, verbose=0)[0]
        heat, _ = grad_cam(trained.model, inputs, class_index=c)
        per_col = column_heat(heat, image)[0]
        centre = np.average(times, weights=per_col) if per_col.sum() > 0 else np.nan
        rows[label] = {
            "predicted": names[int(prob.argmax())],
            f"P({class_name})": float(prob[c]),
            "heat centre (s from R)": float(centre),
        }
    return pd.DataFrame.from_dict(rows, orient="index")


#: Where a profile that does not train the paper's CNN gets one to explain: its architecture on
#: the quick profile's three records (every paper8 class), drawn at 48x48 (the smallest side its
#: valid convolutions and three poolings allow), one epoch, with its batch-norm statistics
#: recomputed before each validation (``precise_bn``: with Keras' momentum 0.99 a run this short
#: predicts one class at inference). About a minute on 2 cores (97.6% hold-out accuracy, macro
#: Se 91.7%; a second epoch gave 98.7% / 94.8% for twice the time). A stand-in that runs on a
#: laptop in class time, not the paper's model: ``ECG_PROFILE=paper`` explains the real one.
PAPER_STANDIN = {"profile": "quick", "size": 48, "epochs": 1, "batch_size": 64, "precise_bn": True}


def paper_cnn_model(profile=None, *, verbose: int = 0):
    """The paper's CNN to explain: the paper profile's own model (trained if missing: a GPU job),
    else the :data:`PAPER_STANDIN` (trained on first use, then cached under ``data/models``).

    Returns
    -------
    :class:`ecgutils.train.TrainedModel`
    """

    prof = get_profile(profile)
    if prof.model == "paper":
        return load_or_train(prof, verbose=verbose)
    standin = dict(PAPER_STANDIN)
    return load_or_train(
        standin.pop("profile"), model="paper", rr=False, verbose=verbose, **standin
    )
