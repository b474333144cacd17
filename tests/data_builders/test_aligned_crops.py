"""The CK+ / JAFFE builders crop stills as video prediction does.

Their default configs find the face with HOG and put the eyes where the
template puts them; the `_box` ones keep the paper's Haar box.
"""

import cv2
import numpy as np
import pytest

from affect_jax.data import building
from affect_jax.faces import align
from tests.data_builders.test_jaffe_builder import DUMMY_DATA as JAFFE_DUMMY


@pytest.fixture(scope="module")
def jaffe(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("tfds")
    return {
        n: building.build_dataset(f"jaffe/{n}", JAFFE_DUMMY, data_dir) for n in ("all_box", "all")
    }


def _eyes_in(crop: np.ndarray) -> np.ndarray | None:
    """Eye centres that OpenCV's eye cascade finds in a 96x96 crop, left first."""
    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_eye.xml")
    found = cascade.detectMultiScale(crop[:60], 1.05, 3, minSize=(10, 10))
    centres = sorted((x + w / 2, y + h / 2) for x, y, w, h in found)
    if len(centres) < 2:
        return None
    return np.array([centres[0], centres[-1]])


def test_aligned_jaffe_crops_put_the_eyes_on_the_template(jaffe):
    haar = jaffe["all_box"].as_data_source("test")
    aligned = jaffe["all"].as_data_source("test")
    assert len(aligned) >= len(haar) - 1  # HOG finds the faces the cascade finds.
    template = align.TEMPLATE_EYES * 96 / 112
    found = [_eyes_in(np.asarray(aligned[i]["image"])[..., 0]) for i in range(len(aligned))]
    found = np.array([eyes for eyes in found if eyes is not None])
    assert len(found) >= len(aligned) // 2
    # Level and on the template; medians, as the checking cascade itself strays at times.
    assert np.median(np.abs(found[:, 0, 1] - found[:, 1, 1])) < 3, found
    assert np.median(np.linalg.norm(found - template, axis=-1)) < 4, found
    # The Haar crop is the paper's: a different framing of the same faces.
    assert not np.array_equal(np.asarray(haar[0]["image"]), np.asarray(aligned[0]["image"]))
