"""Course-wide settings: where data lives, the MIT-BIH record list, and the run profiles.

A profile says how big a run is. Choose one with the ``ECG_PROFILE`` environment variable
(``quick``, ``standard`` or ``paper``; ``standard`` when unset) or pass a name to
:func:`get_profile`. Later chapters read the fields they need from the profile, so a
notebook never hard-codes a record list or an image size.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

#: Sampling rate of every MIT-BIH Arrhythmia Database record, in Hz.
MITDB_FS = 360
#: Length of an MIT-BIH record in whole minutes (650,000 samples at 360 Hz: 30 min 5.6 s).
MITDB_RECORD_MINUTES = 30.0

#: The 48 records of the MIT-BIH Arrhythmia Database 1.0.0, as in its ``RECORDS`` file.
MITDB_RECORDS: tuple[str, ...] = (
    "100", "101", "102", "103", "104", "105", "106", "107", "108", "109",
    "111", "112", "113", "114", "115", "116", "117", "118", "119", "121",
    "122", "123", "124", "200", "201", "202", "203", "205", "207", "208",
    "209", "210", "212", "213", "214", "215", "217", "219", "220", "221",
    "222", "223", "228", "230", "231", "232", "233", "234",
)  # fmt: skip

#: Inter-patient protocol of de Chazal et al. 2004: training records (DS1) ...
DS1: tuple[str, ...] = (
    "101", "106", "108", "109", "112", "114", "115", "116", "118", "119", "122",
    "124", "201", "203", "205", "207", "208", "209", "215", "220", "223", "230",
)  # fmt: skip
#: ... and test records (DS2), from other patients.
DS2: tuple[str, ...] = (
    "100", "103", "105", "111", "113", "117", "121", "123", "200", "202", "210",
    "212", "213", "214", "219", "221", "222", "228", "231", "232", "233", "234",
)  # fmt: skip
#: DS1 patients held out of training in the inter-patient protocol, for early stopping only
#: (they hold S, V and F beats: 167 S, 917 V): DS2 is never looked at before the test.
DS1_VALIDATION: tuple[str, ...] = ("119", "220", "223")
#: Records with paced beats, excluded from the inter-patient protocol (ANSI/AAMI EC57).
PACED_RECORDS: tuple[str, ...] = ("102", "104", "107", "217")

#: Environment variable that selects the profile.
PROFILE_ENV = "ECG_PROFILE"
#: Environment variable that moves the data folder (default: ``data/`` of the checkout).
DATA_DIR_ENV = "ECG_DATA_DIR"
#: Environment variable naming a local folder holding a copy of MIT-BIH 1.0.0.
SOURCE_ENV = "MITDB_SOURCE"


def project_root() -> Path:
    """The checkout's top folder (the one holding ``pyproject.toml``), or the working folder."""
    here = Path(__file__).resolve().parents[1]
    return here if (here / "pyproject.toml").is_file() else Path.cwd()


def data_dir() -> Path:
    """Folder for everything the course downloads, caches and trains (``data/``).

    ``ECG_DATA_DIR`` overrides it. Deleting this folder is always safe: the course rebuilds
    what it needs.
    """
    env = os.environ.get(DATA_DIR_ENV)
    return Path(env).expanduser() if env else project_root() / "data"


def mitdb_dir() -> Path:
    """Folder holding the verified MIT-BIH files (``data/mitdb``)."""
    return data_dir() / "mitdb"


@dataclass(frozen=True)
class Profile:
    """How big a run is.

    Attributes
    ----------
    name : str
        ``quick``, ``standard`` or ``paper``.
    description : str
        One line for people.
    records : tuple of str
        MIT-BIH records the profile uses.
    scheme : str
        Default class scheme (see :mod:`ecgutils.classes`).
    image_size : int
        Side of the square beat images, in pixels.
    rule : str
        Segmentation rule (:mod:`ecgutils.segment`): ``seed``, ``paper`` or ``fixed``.
    scale : str
        Amplitude scaling of beat images (:mod:`ecgutils.render`): ``minmax`` or ``fixed``.
    line_width : float
        Line width of beat images, in pixels.
    model : str
        ``compact`` (:func:`ecgutils.models.compact_cnn`) or ``paper``
        (:func:`ecgutils.models.paper_cnn`).
    rr : bool
        Give the compact CNN the RR-interval features as a second input.
    epochs, batch_size : int
        Training length and batch size.
    balance : str
        ``class_weight``, ``oversample`` or ``none`` (:mod:`ecgutils.train`).
    augment : str
        ``none``, ``random`` (each arrhythmia image drawn as itself or one of its nine crops)
        or ``enlarge`` (the original: every arrhythmia image plus its nine crops, every epoch).
    seed : int
        Seed for every random choice made under this profile.
    precise_bn : bool
        Recompute batch-norm statistics on training beats before each validation
        (:func:`ecgutils.train.recalibrate_batchnorm`): what lets a one-epoch model predict
        sensibly, since Keras' moving averages need a few hundred steps.
    """

    name: str
    description: str
    records: tuple[str, ...]
    scheme: str = "paper8"
    image_size: int = 128
    rule: str = "seed"
    scale: str = "minmax"
    line_width: float = 1.0
    model: str = "compact"
    rr: bool = True
    epochs: int = 6
    batch_size: int = 128
    balance: str = "class_weight"
    augment: str = "none"
    seed: int = 2018
    precise_bn: bool = False


PROFILES: dict[str, Profile] = {
    "quick": Profile(
        name="quick",
        description="Tests and CI: three records that together hold every paper8 class; minutes.",
        # 100: N, A, V; 107: paced (/), V; 207: L, R, A, V, E and ventricular flutter (!).
        records=("100", "107", "207"),
        image_size=32,
        # One epoch with precise batch norm: 99.3% hold-out accuracy in about 11 s of training
        # on a 2-core machine (3 epochs without it: about 30 s), so every chapter's models
        # (variants, folds, ablation steps) stay cheap in CI.
        epochs=1,
        precise_bn=True,
    ),
    "standard": Profile(
        name="standard",
        description="Default: all 48 records, sized for a 2-core laptop.",
        records=MITDB_RECORDS,
        image_size=48,
        epochs=8,
    ),
    "paper": Profile(
        name="paper",
        description="Full-size reproduction of Jun et al. 2018 (128x128 images); GPU recommended.",
        records=MITDB_RECORDS,
        image_size=128,
        model="paper",
        rr=False,
        epochs=10,
        batch_size=64,
        balance="none",
        augment="enlarge",
    ),
}

DEFAULT_PROFILE = "standard"


def get_profile(name: str | Profile | None = None) -> Profile:
    """Return a profile by name, or the one ``ECG_PROFILE`` names (``standard`` if unset); a
    :class:`Profile` is returned as it is (so every function takes a name or a profile).

    Raises
    ------
    ValueError
        If the name is not a known profile; the message lists the valid ones.
    """
    if isinstance(name, Profile):
        return name
    chosen = name if name is not None else os.environ.get(PROFILE_ENV) or DEFAULT_PROFILE
    key = str(chosen).strip().lower()
    if key not in PROFILES:
        source = "" if name is not None else f" (from ${PROFILE_ENV})"
        raise ValueError(
            f"Unknown profile {chosen!r}{source}. Choose one of: {', '.join(PROFILES)}; "
            f"for example `export {PROFILE_ENV}=quick`."
        )
    return PROFILES[key]
