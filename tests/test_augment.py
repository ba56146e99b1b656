"""ecgutils.augment: the nine crops, on the fly, arrhythmia classes only."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from ecgutils import augment
from ecgutils.classes import scheme_classes


@pytest.fixture
def images():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(12, 128, 128), dtype=np.uint8)


def test_crop_boxes():
    boxes = augment.crop_boxes(128)
    assert boxes.shape == (9, 2)
    assert sorted(set(boxes[:, 0])) == [0, 16, 32] == sorted(set(boxes[:, 1]))
    assert (
        boxes[0].tolist() == [0, 0]
        and boxes[4].tolist() == [16, 16]
        and boxes[8].tolist() == [32, 32]
    )
    assert sorted(set(augment.crop_boxes(64)[:, 0])) == [0, 8, 16]  # 48x48 crops of 64
    assert augment.CROP_NAMES[0] == "top-left" and augment.CROP_NAMES[8] == "bottom-right"


def test_resize_matches_opencv_bilinear(images):
    crop = images[0, :96, :96]
    m = augment.resize_matrix(96, 128)
    ours = np.clip(np.rint(m @ crop.astype(np.float32) @ m.T), 0, 255)
    theirs = cv2.resize(crop, (128, 128), interpolation=cv2.INTER_LINEAR)
    assert np.abs(ours - theirs.astype(float)).max() <= 1


def test_apply_crops_each_image_its_own_crop(images):
    ids = np.array([0, 1, 5, 9] * 3)
    out = augment.apply_crops(images, ids)
    np.testing.assert_array_equal(out[0], images[0])  # crop 0: untouched
    for i, (r, c) in [(1, (0, 0)), (2, (16, 16)), (3, (32, 32))]:
        expect = cv2.resize(images[i, r : r + 96, c : c + 96], (128, 128))
        assert np.abs(out[i].astype(int) - expect).max() <= 1
    nine = augment.nine_crops(images[0])
    assert nine.shape == (9, 128, 128) and len({im.tobytes() for im in nine}) == 9
    with pytest.raises(ValueError, match="one id in 0-9"):
        augment.apply_crops(images, np.full(12, 10))


def test_augmentation_index_grows_arrhythmia_classes_only():
    labels = np.array([0, 0, 3, -1, 7])  # N, N, A, (not in scheme), !
    beat, crop = augment.augmentation_index(labels, "paper8")
    assert beat.tolist() == [0, 1] + [2] * 10 + [4] * 10
    assert crop.tolist() == [0, 0] + list(range(10)) * 2
    beat, crop = augment.augmentation_index(labels, "paper8", augment=False)
    assert beat.tolist() == [0, 1, 2, 4] and not crop.any()
    assert augment.augmented_classes("aami5") == [1, 2, 3, 4]


def test_class_balance():
    labels = np.array([0] * 50 + [1] * 5 + [6])
    table = augment.class_balance(labels, "seed7")
    assert table["before"].tolist() == [50, 5, 0, 0, 0, 0, 1]
    assert table["after"].tolist() == [50, 50, 0, 0, 0, 0, 10]
    assert table.index.tolist() == scheme_classes("seed7")


def test_batches_cover_each_pair_once_and_leave_normals_untouched(images):
    labels = np.array([0, 0, 0, 4, 4, 0, 2, 0, 0, 0, 0, -1])
    seen_n, seen_all = 0, 0
    for x, y in augment.iter_batches(images, labels, "paper8", batch_size=7, seed=1):
        assert x.shape[1:] == (128, 128) and len(x) == len(y) <= 7
        seen_all += len(y)
        for img, lab in zip(x, y):
            if lab == 0:  # a normal beat is never cropped: it equals one of the normal images
                assert any((img == images[i]).all() for i in np.flatnonzero(labels == 0))
                seen_n += 1
    assert seen_n == 8 and seen_all == 8 + 3 * 10


def test_export_png_folders(images, tmp_path):
    labels = np.array([0, 0, 4, -1] * 3)
    out = augment.export_png_folders(images, labels, "paper8", tmp_path / "pngs", progress=False)
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png"))
    assert len(files) == 6 + 3 * 10
    assert "PVC/2_top-left.png" in files and "Normal/0.png" in files
    back = cv2.imread(str(out / "PVC" / "2.png"), cv2.IMREAD_GRAYSCALE)
    np.testing.assert_array_equal(back, images[2])
    with pytest.raises(FileExistsError):
        augment.export_png_folders(images, labels, "paper8", out, progress=False)


def test_export_interrupted_leaves_nothing(images, tmp_path, monkeypatch):
    monkeypatch.setattr(cv2, "imwrite", lambda *a, **k: False)
    with pytest.raises(OSError, match="Could not write"):
        augment.export_png_folders(
            images, np.zeros(12, int), "paper8", tmp_path / "x", progress=False
        )
    assert list(tmp_path.iterdir()) == []
