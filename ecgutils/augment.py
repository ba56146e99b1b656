"""Nine-crop augmentation of beat images, applied on the fly.

The original method enlarges every arrhythmia class (every class but normal) with nine crops
of each image: top, centre and bottom rows times left, centre and right columns, each 96x96
of a 128x128 image (3/4 of the side for other sizes), resized back to full size with
bilinear interpolation (``cv2.resize``'s default). It wrote them all to disk as PNG files.

Here a crop is just a number stored beside a beat index: crop 0 is the image itself, crops 1-9
are the nine crops. :func:`augmentation_index` lists the (beat, crop) pairs of the enlarged
data set and :func:`iter_batches` draws batches from it, cropping only the images of the batch.
:func:`export_png_folders` writes the original folder-of-PNGs layout for those who want it.

Source: chapter 04 (``notebooks/04_augmentation.ipynb``) writes :func:`crop_boxes`,
:func:`resize_matrix`, :func:`apply_crops` (cells marked ``#| export``; a test fails when
chapter and package differ).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from .classes import scheme_classes, scheme_table
from .store import publish

#: Crop side as a fraction of the image side (96 of 128).
CROP_FRACTION = 96 / 128
#: Names of crops 1-9 (crop 0 is the uncropped image).
CROP_NAMES: tuple[str, ...] = tuple(
    f"{v}-{h}" for v in ("top", "centre", "bottom") for h in ("left", "centre", "right")
)
#: Number of crops per image, and of variants of an augmented image (itself + crops).
N_CROPS = 9
N_VARIANTS = N_CROPS + 1


def crop_boxes(size: int = 128, crop: int | None = None) -> np.ndarray:
    """Top-left corners of the nine crops.

    Returns
    -------
    (9, 2) int array
        ``(row, column)`` of crops 1-9, in :data:`CROP_NAMES` order; each crop is
        ``crop x crop`` pixels (default ``round(0.75 * size)``: 96 for 128).
    """
    crop = int(round(CROP_FRACTION * size)) if crop is None else int(crop)
    if not 0 < crop <= size:
        raise ValueError(f"Crop side {crop} must be between 1 and the image side {size}.")
    offsets = (0, (size - crop) // 2, size - crop)
    return np.array([(r, c) for r in offsets for c in offsets], dtype=np.int64)


def resize_matrix(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) float32 matrix of 1-D bilinear resizing, as ``cv2.INTER_LINEAR`` does it.

    ``M @ image @ M.T`` resizes an ``(n_in, n_in)`` image to ``(n_out, n_out)``.
    """
    src = (np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5
    src = np.clip(src, 0, n_in - 1)
    i0 = np.floor(src).astype(np.int64)
    i1 = np.minimum(i0 + 1, n_in - 1)
    w = (src - i0).astype(np.float32)
    m = np.zeros((n_out, n_in), dtype=np.float32)
    m[np.arange(n_out), i0] += 1 - w
    m[np.arange(n_out), i1] += w
    return m


def apply_crops(images: np.ndarray, crop_ids: np.ndarray) -> np.ndarray:
    """Crop and resize back a batch of images, each by its own crop id.

    Parameters
    ----------
    images : (n, size, size) uint8 array
    crop_ids : (n,) int array
        0 keeps the image; 1-9 are the crops of :data:`CROP_NAMES`.

    Returns
    -------
    (n, size, size) uint8 array (a new array).
    """
    images = np.asarray(images)
    crop_ids = np.asarray(crop_ids, dtype=np.int64)
    if images.ndim != 3 or images.shape[1] != images.shape[2]:
        raise ValueError(f"images must be (n, size, size), got {images.shape}.")
    if (
        crop_ids.shape != (len(images),)
        or crop_ids.min(initial=0) < 0
        or crop_ids.max(initial=0) > N_CROPS
    ):
        raise ValueError("crop_ids must hold one id in 0-9 per image.")
    size = images.shape[1]
    boxes = crop_boxes(size)
    crop = int(round(CROP_FRACTION * size))
    m = resize_matrix(crop, size)
    out = images.copy()
    for cid in np.unique(crop_ids[crop_ids > 0]):
        which = np.flatnonzero(crop_ids == cid)
        r, c = boxes[cid - 1]
        part = images[which, r : r + crop, c : c + crop].astype(np.float32)
        resized = m @ part @ m.T
        out[which] = np.clip(np.rint(resized), 0, 255).astype(np.uint8)
    return out


def nine_crops(image: np.ndarray) -> np.ndarray:
    """The nine crops of one (size, size) image, resized back: (9, size, size) uint8."""
    image = np.asarray(image)
    return apply_crops(np.repeat(image[None], N_CROPS, axis=0), np.arange(1, N_CROPS + 1))


def augmented_classes(scheme: str, normal: Sequence[str] = ("N",)) -> list[int]:
    """Class indices that get the nine crops: every class of the scheme but the normal one."""
    return [i for i, c in enumerate(scheme_classes(scheme)) if c not in normal]


def augmentation_index(
    labels: np.ndarray, scheme: str, *, augment: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """The (beat, crop) pairs of the enlarged data set.

    Every labelled beat (label >= 0) appears with crop 0; beats of the augmented classes
    (:func:`augmented_classes`) also appear with crops 1-9, as in the original.

    Returns
    -------
    beat_index, crop_id : (m,) int64 arrays
    """
    labels = np.asarray(labels)
    labelled = np.flatnonzero(labels >= 0)
    if not augment:
        return labelled, np.zeros(len(labelled), dtype=np.int64)
    grow = np.isin(labels[labelled], augmented_classes(scheme))
    reps = np.where(grow, N_VARIANTS, 1)
    beat = np.repeat(labelled, reps)
    first = np.cumsum(reps) - reps
    crop = np.arange(len(beat)) - np.repeat(first, reps)
    return beat, crop.astype(np.int64)


def class_balance(labels: np.ndarray, scheme: str) -> pd.DataFrame:
    """Images per class before and after the nine-crop augmentation."""
    labels = np.asarray(labels)
    classes = scheme_classes(scheme)
    before = np.bincount(labels[labels >= 0], minlength=len(classes))
    beat, _ = augmentation_index(labels, scheme)
    after = np.bincount(labels[beat], minlength=len(classes))
    table = pd.DataFrame(
        {"name": scheme_table(scheme)["name"].to_numpy(), "before": before, "after": after},
        index=pd.Index(classes, name="class"),
    )
    table["before (%)"] = 100 * table["before"] / max(before.sum(), 1)
    table["after (%)"] = 100 * table["after"] / max(after.sum(), 1)
    return table


def iter_batches(
    images: np.ndarray,
    labels: np.ndarray,
    scheme: str,
    *,
    batch_size: int = 64,
    augment: bool = True,
    shuffle: bool = True,
    seed: int = 0,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """One epoch of batches over the enlarged data set, crops made on the fly.

    Yields
    ------
    x : (b, size, size) uint8 array
    y : (b,) int64 array of class indices
    """
    beat, crop = augmentation_index(labels, scheme, augment=augment)
    order = np.random.default_rng(seed).permutation(len(beat)) if shuffle else np.arange(len(beat))
    for b0 in range(0, len(order), batch_size):
        pick = order[b0 : b0 + batch_size]
        idx = beat[pick]
        yield apply_crops(images[idx], crop[pick]), np.asarray(labels[idx], dtype=np.int64)


def export_png_folders(
    images: np.ndarray,
    labels: np.ndarray,
    scheme: str,
    out_dir: str | os.PathLike,
    *,
    augment: bool = True,
    progress: bool = True,
) -> Path:
    """Write the data set as PNG files in one folder per class, as the original did.

    Files are ``<out_dir>/<class name>/<beat>.png`` and, for augmented classes,
    ``<beat>_<crop name>.png``. Everything is written to a temporary folder first and moved
    into place at the end, so an interrupted export leaves nothing half-written.
    ``out_dir`` must not exist yet. This writes one file per image: 400,000+ for the whole
    database with augmentation; the course itself never needs it.
    """
    import cv2

    out_dir = Path(out_dir)
    if out_dir.exists():
        raise FileExistsError(f"{out_dir} already exists; choose a new folder or delete it.")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    names = list(scheme_table(scheme)["name"])
    with publish(out_dir, replace=False) as tmp:
        for name in names:
            (tmp / name).mkdir()
        beat, crop = augmentation_index(labels, scheme, augment=augment)
        for b0 in tqdm(range(0, len(beat), 512), desc="Writing PNG files", disable=not progress):
            idx, cid = beat[b0 : b0 + 512], crop[b0 : b0 + 512]
            batch = apply_crops(images[idx], cid)
            for img, i, c in zip(batch, idx, cid):
                suffix = "" if c == 0 else f"_{CROP_NAMES[c - 1]}"
                if not cv2.imwrite(str(tmp / names[labels[i]] / f"{i}{suffix}.png"), img):
                    raise OSError(f"Could not write a PNG file under {tmp}.")
    return out_dir
