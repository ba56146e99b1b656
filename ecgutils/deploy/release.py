"""Release: the models the course ships, and the chapters' loader of the shipped CNN.

``python -m ecgutils ship-model`` runs :func:`ship_model` (the 8-class CNN) or
:func:`ship_trees` (the default model); chapters 06, 07 and 10 read the CNN with
:func:`course_model`."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd

from .. import store
from ..backend import import_keras
from ..classes import scheme_classes, scheme_table
from ..config import MITDB_FS, Profile, get_profile
from ..data import MITDB_RECORDS
from ..dataset import build_dataset
from ..evaluate import learnt_rows
from ..selftraining import SAMPLE_CAP, self_trained_trees, training_sample
from ..train import TrainedModel, config_from_profile, load_or_train
from ..trees import load_or_train_deployed_trees, load_or_train_trees, save_trees, tree_features
from . import pacing
from .models import MODEL_DIR, SELF_TRAINING_FILE, TREES_DIR, DeployedModel, load_deployed_model
from .predict import DEFAULT_DETECTOR

#: The repository's root, where git is asked for the commit.
_PACKAGE_ROOT = Path(__file__).resolve().parents[2]


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(
            ["git", *args], cwd=_PACKAGE_ROOT, capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def code_commit() -> str:
    """The commit of the code that runs (``+modified`` when ``ecgutils`` has uncommitted changes
    other than stored results, which are outputs, not code; ``unknown`` outside a git checkout)."""
    head = _git("rev-parse", "--short=12", "HEAD")
    if not head:
        return "unknown"
    dirty = _git("status", "--porcelain", "--", "ecgutils", ":(exclude)ecgutils/resources/results")
    return head + ("+modified" if dirty else "")


def _figures(metrics: dict) -> dict:
    """The headline figures of :func:`ecgutils.evaluate.classification_metrics`, in %."""
    per = metrics["per_class"]
    return {
        "accuracy": round(100 * metrics["accuracy"], 2),
        "macro sensitivity": round(100 * metrics["macro"]["se"], 2),
        "per class Se / +P": {
            c: [round(100 * v["se"], 2), round(100 * v["ppv"], 2)] for c, v in per.items()
        },
        "test beats": metrics["n"],
    }


def course_model(profile: Profile | str | None = None, *, retrain: bool = False, verbose: int = 1):
    """The profile's trained model, as chapters 06, 07 and 10 use it.

    When the course ships this profile's model (``python -m ecgutils ship-model``; the
    standard profile's) and it was trained with the configuration and data the profile asks
    for today, it is read from the package, with a line saying when and how it was trained;
    nothing is trained. Otherwise, or with ``retrain=True``, this is
    :func:`ecgutils.train.load_or_train` (from the store, or trained with the code as it is now).

    Returns
    -------
    :class:`ecgutils.train.TrainedModel`
    """
    prof = get_profile(profile)
    if not retrain:
        shipped, why = _shipped_as_trained(prof)
        if shipped is not None:
            card = json.loads((MODEL_DIR / "card.json").read_text())
            speed = card.get("time_per_image_ms")
            print(
                f"The course's shipped model ({card['command']}, commit {card.get('commit', '?')}, "
                f"trained {card['trained'][:10]} in {card.get('train minutes', '?')} min"
                + (f" at {speed:.2f} ms/image" if speed else "")
                + "); course_model(retrain=True) trains it again with your code."
            )
            return shipped
        if why and verbose:
            print(why)
    return load_or_train(prof, retrain=retrain, verbose=verbose)


def _shipped_as_trained(prof: Profile):
    """(TrainedModel, None) when the shipped model is this profile's model as configured now,
    else (None, the reason)."""
    import dataclasses

    folder = MODEL_DIR
    meta_path = folder / "metadata.json"
    if not meta_path.exists():
        return None, None
    meta = json.loads(meta_path.read_text())
    if meta.get("profile") != prof.name:
        return None, None
    cfg = config_from_profile(prof)
    wanted = json.loads(json.dumps(dataclasses.asdict(cfg)))
    if meta["config"] != wanted:
        changed = sorted(k for k in wanted if meta["config"].get(k) != wanted[k])
        return None, (
            f"The shipped model was trained with other settings ({', '.join(changed)}); "
            f"training the {prof.name} profile's own."
        )
    ds = build_dataset(prof, size=cfg.size, rule=cfg.rule, scale=cfg.scale, progress=False)
    if json.loads(json.dumps(ds.params)) != meta["dataset"]:
        return None, "The shipped model was trained on other data; training the profile's own."
    keras = import_keras()
    model = keras.saving.load_model(folder / "model.keras")
    history = pd.read_csv(folder / "history.csv")
    split = dict(np.load(folder / "split.npz"))
    return TrainedModel(model, cfg, meta, history, ds, split, folder), None


def ship_model(
    profile: str = "standard",
    out: str | os.PathLike | None = None,
    *,
    verbose: int = 2,
) -> DeployedModel:
    """Train (or reuse) the profile's model and save it with its card for deployment.

    The model is :func:`ecgutils.train.load_or_train` of the profile (beat-level hold-out, the
    paper's protocol); the same configuration is also trained DS1 -> DS2 so the card states what
    to expect on new patients. Writes ``model.keras``, ``card.json`` and ``MODEL_CARD.md``, and
    the training's ``metadata.json``, ``history.csv`` and ``split.npz`` (what
    :func:`course_model` needs to serve it as the profile's trained model), into ``out``
    (default: the package's ``resources/model``), replacing what was there only once all are
    written.
    """
    from ..models import machine_speed  # deferred: ecgutils.models loads TensorFlow

    keras = import_keras()

    prof = get_profile(profile)
    speed = round(machine_speed(), 3)
    tm = load_or_train(prof, verbose=verbose)
    ip = load_or_train(prof, verbose=verbose, split="interpatient")
    meta, params = tm.metadata, tm.dataset.params
    names = scheme_table(meta["scheme"])["name"].to_dict()
    card = {
        "model": f"{meta['config']['model']} CNN, {meta['parameters']:,} parameters",
        "classes": meta["classes"],
        "class names": names,
        "scheme": meta["scheme"],
        "fs": MITDB_FS,
        "rule": params["rule"],
        "image_size": params["size"],
        "scale": params["scale"],
        "line_width": params["line_width"],
        "config": meta["config"],
        "training data": {
            "database": "MIT-BIH Arrhythmia Database 1.0.0 (PhysioNet, ODC-By 1.0), lead MLII",
            "profile": prof.name,
            "records": len(params["records"]),
            "data fingerprint": meta["data_fingerprint"],
            "beats": meta["split"],
        },
        "measured": {
            "seen patients (beat-level hold-out, as in the paper)": _figures(tm.metrics),
            "new patients (same configuration trained DS1 -> DS2)": _figures(ip.metrics),
        },
        "trained": meta["trained"],
        "train minutes": round(meta["train_seconds"] / 60, 1),
        "time_per_image_ms": speed,
        "commit": code_commit(),
        "keras": keras.__version__,
        "command": f"python -m ecgutils ship-model --profile {prof.name}",
    }
    folder = Path(out) if out is not None else MODEL_DIR
    with store.publish(folder) as tmp:
        tm.model.save(tmp / "model.keras")
        # what chapters 06, 07 and 10 need to use it as the profile's trained model
        (tmp / "metadata.json").write_text(json.dumps(meta, indent=1))
        tm.history.to_csv(tmp / "history.csv", index=False)
        np.savez_compressed(tmp / "split.npz", **tm.split)
        (tmp / "card.json").write_text(json.dumps(card, indent=1, ensure_ascii=False) + "\n")
        (tmp / "MODEL_CARD.md").write_text(model_card_text(card))
    return load_deployed_model(folder)


def _ec57_figures(ec: dict) -> dict:
    """:func:`_figures` of :func:`ecgutils.evaluate.ec57_metrics` (N, S, V, F scored; Q out)."""
    per = ec["per_class"]
    return {
        "accuracy": round(100 * ec["accuracy"], 2),
        "macro sensitivity": round(100 * float(np.nanmean([v["se"] for v in per.values()])), 2),
        "per class Se / +P": {
            c: [round(100 * v["se"], 2), round(100 * v["ppv"], 2)] for c, v in per.items()
        },
        "test beats": ec["n"],
    }


def ship_pacing(out: str | os.PathLike | None = None) -> Path:
    """Train the pacing detector (:mod:`ecgutils.deploy.pacing`) on the reference beats of all
    48 MIT-BIH records and save it with its card into ``out`` (default: the package's
    ``resources/pacing``). What it does on new paced patients is measured by ``python -m
    ecgutils bench paced`` (one paced patient held out at a time), not by this fit."""
    import datetime

    x, y, _ = pacing.training_beats(MITDB_RECORDS)
    detector = pacing.PacingDetector().fit(x, y)
    card = {
        "model": "pacing detector", "trained on": "MIT-BIH, all 48 records, first lead",
        "beats": int(len(y)), "paced beats": int(y.sum()), "commit": code_commit(),
        "date": datetime.date.today().isoformat(),
        "command": "python -m ecgutils ship-model --kind pacing",
        "measured by": "python -m ecgutils bench paced",
    }  # fmt: skip
    folder = Path(out) if out is not None else pacing.PACING_DIR
    pacing.save_detector(detector, folder, card)
    return folder


def ship_trees(profile: str = "standard", out: str | os.PathLike | None = None) -> DeployedModel:
    """Train (or reuse) the inter-patient trees recipe on every record of the profile and save
    it with its card for deployment: the course's default model (``trees``).

    The card states, as what to expect on new people, the EC57 figures of the same recipe
    trained on DS1 and scored on DS2 (:func:`ecgutils.trees.load_or_train_trees`), and those of
    self-training on each DS2 record with a sample of the DS1 beats
    (:func:`ecgutils.selftraining.self_trained_trees` with ``sample_cap``), which deployment does on
    request with the same-sized sample of every training beat. Writes ``trees.pkl``,
    ``self_training.npz`` (:func:`ecgutils.selftraining.training_sample`), ``card.json`` and
    ``MODEL_CARD.md`` into ``out`` (default: the package's ``resources/trees``), replacing what
    was there only once all are written.
    """
    import sklearn

    from ..models import machine_speed  # deferred: ecgutils.models loads TensorFlow

    prof = get_profile(profile)
    speed = round(machine_speed(), 3)
    trees, meta = load_or_train_deployed_trees(prof)
    ip = load_or_train_trees(prof)
    st = self_trained_trees(prof, sample_cap=SAMPLE_CAP, progress=False)
    ds = build_dataset(prof, rule="fixed", scale="patient", progress=False)
    classes = scheme_classes("aami5")
    labels = ds.labels("aami5")
    train = learnt_rows(labels)  # as the trees
    x, y, stands = training_sample(
        tree_features(ds)[train], labels[train], len(classes), cap=SAMPLE_CAP,
        seed=meta["settings"]["seed"],
    )  # fmt: skip
    data = meta["dataset"]
    card = {
        "kind": "trees",
        "model": (
            f"gradient-boosted trees ({meta['settings']['n_models']} scikit-learn "
            f"HistGradientBoostingClassifier averaged; {meta['features']})"
        ),
        "classes": meta["classes"],
        "class names": scheme_table("aami5")["name"].to_dict(),
        "scheme": "aami5",
        "fs": MITDB_FS,
        "rule": data["rule"],
        "window_s": data["window_s"],
        "image_size": data["size"],
        "scale": data["scale"],
        "line_width": data["line_width"],
        "mv_range": data["mv_range"],
        "settings": meta["settings"],
        "training data": {
            "database": "MIT-BIH Arrhythmia Database 1.0.0 (PhysioNet, ODC-By 1.0), lead MLII",
            "profile": prof.name,
            "records": data["records"],
            "data fingerprint": data["data_fingerprint"],
            "beats": meta["beats"],
        },
        "self-training": {
            "confidence": st.metadata["settings"]["confidence"],
            "local_weight": st.metadata["settings"]["local_weight"],
            "sample cap": SAMPLE_CAP,
            "training beats": int(len(y)),
            "balance_power": meta["settings"]["balance_power"],
            "max_iter": ip.metadata["settings"].get("max_iter", 300),
            "seed": meta["settings"]["seed"],
        },
        "measured": {
            "new patients (same recipe trained DS1 -> DS2, EC57)": _ec57_figures(
                ip.metrics["ec57"]
            ),
            "new patients, self-trained on each record's unlabelled beats (DS1 -> DS2, EC57)": (
                _ec57_figures(st.metrics["ec57"])
            ),
        },
        "trained": meta["trained"],
        "train minutes": round(meta["train_seconds"] / 60, 1),
        "time_per_image_ms": speed,
        "commit": code_commit(),
        "scikit-learn": sklearn.__version__,
        "command": f"python -m ecgutils ship-model --kind trees --profile {prof.name}",
    }
    folder = Path(out) if out is not None else TREES_DIR
    with store.publish(folder) as tmp:
        save_trees(trees, tmp / "trees.pkl")
        np.savez_compressed(tmp / SELF_TRAINING_FILE, features=x, labels=y, stands_for=stands)
        (tmp / "card.json").write_text(json.dumps(card, indent=1, ensure_ascii=False) + "\n")
        (tmp / "MODEL_CARD.md").write_text(model_card_text(card))
    return load_deployed_model(folder)


def model_card_text(card: dict) -> str:
    """The card as Markdown, for people."""
    names = card["class names"]
    if card.get("kind") == "trees":
        before, after = (int(1000 * w) for w in card["window_s"])
        inputs = (
            f"input: each beat {before} ms before to {after} ms after its R peak, drawn "
            f"{card['image_size']} px wide in units of the recording's own typical beat and "
            "compared column by column with the recording's template beat (the median of its "
            "beats after a long RR interval); RR intervals relative to the recording's own "
            "rhythm; rhythm irregularity around the beat. Nothing in seconds or mV: built for "
            "new patients (chapter 08)"
        )
        title = "the course's default beat classifier (`trees`)"
        fitted = f"scikit-learn {card.get('scikit-learn', '?')}"
    else:
        inputs = (
            f"input: one {card['image_size']}x{card['image_size']} beat image ({card['scale']} "
            f"scale, segmentation rule `{card['rule']}`)"
            f"{' and RR-interval features' if card['config']['rr'] else ''}"
        )
        title = "the course's 8-class CNN (`cnn8`)"
        fitted = f"Keras {card['keras']}"
    lines = [
        f"# Model card: {title}",
        "",
        f"- **Model:** {card['model']}; {inputs}.",
        "- **Classes:** " + ", ".join(f"{c} ({names[c]})" for c in card["classes"]) + ".",
        f"- **Signal:** one lead (MLII-like), resampled to {card['fs']} Hz; R peaks found by "
        f"deployment's detector (`{DEFAULT_DETECTOR}`, `python -m ecgutils bench records`).",
        f"- **Training data:** {card['training data']['database']}; profile "
        f"`{card['training data']['profile']}`, {card['training data']['records']} records, "
        f"beats {card['training data']['beats']}; data fingerprint "
        f"`{card['training data']['data fingerprint']}`.",
        f"- **Trained:** {card['trained']} with {fitted}; "
        f"retrain and replace with `{card['command']}`.",
    ]
    if "self-training" in card:
        st = card["self-training"]
        lines.append(
            "- **Self-training (optional: `predict --self-train`, `predict_ecg(..., "
            "self_train=True)`):** the recording's beats classified with probability "
            f"{st['confidence']} or more join a sample of the training beats "
            f"({st['training beats']:,}, at most {st['sample cap']:,} per class, each standing "
            "for its share of the whole), each weighing "
            f"{st['local_weight']:g} times a training beat of its class; one tree model trained "
            "on both classifies the recording again (chapter 09). Its labels are the trees' own, "
            "never a person's; it takes seconds per recording."
        )
    lines += ["", "## Measured figures (%)", ""]
    for protocol, fig in card["measured"].items():
        lines.append(
            f"**{protocol}:** accuracy {fig['accuracy']:.2f}, macro sensitivity "
            f"{fig['macro sensitivity']:.2f} over {fig['test beats']:,} test beats. Per class "
            "(Se / +P): "
            + "; ".join(
                f"{c} {se:.1f} / {ppv:.1f}" for c, (se, ppv) in fig["per class Se / +P"].items()
            )
            + "."
        )
        lines.append("")
    lines += [
        "## Use and limits",
        "",
        "- For teaching. Not a medical device; do not use it to make clinical decisions.",
        "- Expect the *new patients* figures on recordings of people outside MIT-BIH"
        + (
            ", not the *seen patients* ones: the hold-out puts beats of the same patients on "
            "both sides."
            if any(k.startswith("seen") for k in card["measured"])
            else ": the recipe was trained on DS1 and scored on DS2's other patients; these "
            f"trees were then trained the same way on all {card['training data']['records']} "
            "records of their profile."
        ),
        "- Beats are found by a detector, not by a cardiologist: missed or extra beats change the",
        "  RR features of their neighbours. Noisy stretches give unreliable classes.",
        "",
    ]
    return "\n".join(lines)
