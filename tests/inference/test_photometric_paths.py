"""config.input.photometric reaches the CNN the same way in training, evaluation,
extraction and prediction: the same crop gives the same uint8 pixels on every path."""

import dataclasses

import numpy as np
import pytest

from affect_jax.data import augment, pipeline
from affect_jax.faces import photometric
from affect_jax.inference import video_model
from affect_jax.inference.cnn_batches import CnnBatches
from affect_jax.inference.frame_model import FrameModel
from affect_jax.stages.extract import ExtractionRecord
from affect_jax.tasks import registry
from tests.helpers import train_helpers
from tests.helpers.photometric_runs import LEGACY_CNN, legacy_cnn_with


def _crop(seed: int) -> np.ndarray:
    """A uint8 96x96 crop, dim and smooth with noise (face-like statistics, not a face)."""
    rng = np.random.default_rng(seed)
    ramp = np.linspace(30, 110, 96)[:, None] + np.zeros((1, 96))
    return np.clip(ramp + rng.normal(0, 12, (96, 96)), 0, 255).astype(np.uint8)


def _records(crops: list[np.ndarray]) -> list[dict]:
    """TFDS-like frame records, as sources.open_split gives them."""
    return [
        {"image": crop[..., None], "frame": i, "video": "v", "valence": 0.1, "arousal": -0.2}
        for i, crop in enumerate(crops)
    ]


def _config(method: str):
    config = train_helpers.tiny_config("unused")
    config.input.photometric = method
    return config


@dataclasses.dataclass(kw_only=True)
class _SeenCrops(FrameModel):
    """Records what reaches `submit`, i.e. the CNN."""

    seen: list = dataclasses.field(default_factory=list)

    def submit(self, crops):
        self.seen.append(crops)
        return len(crops)

    def collect(self, pending):
        return np.zeros((pending, 2), np.float32), np.zeros((pending, 4), np.float32)


def _training_pixels(records: list[dict], transform, augmenter=None) -> np.ndarray:
    blocks = pipeline.training_blocks(records, transform, 0, len(records), augmenter)
    block = blocks[0]  # The first shuffled block: every record once.
    return block["inputs"][np.argsort(block["frame"])]


def _evaluation_pixels(records: list[dict], transform, config) -> np.ndarray:
    (batch,) = pipeline.evaluation_batches(records, transform, config, len(records))
    return batch["inputs"]


def _extraction_pixels(records: list[dict], method: str) -> np.ndarray:
    return np.stack(
        [ExtractionRecord(("valence",), method).map(record)["inputs"] for record in records]
    )


def _prediction_pixels(crops: list[np.ndarray], method: str) -> np.ndarray:
    model = _SeenCrops(cnn_path="", cnn_columns=(0, 1), batch_size=len(crops), photometric=method)
    batches = CnnBatches(model, lambda *_: None)
    for crop in crops:
        batches.add(0, crop)
    batches.flush()
    (seen,) = model.seen
    return seen[..., None]


@pytest.mark.parametrize("method", photometric.METHODS)
def test_every_path_gives_the_cnn_the_same_pixels(method):
    crops = [_crop(0), _crop(1), _crop(2)]
    records = _records(crops)
    config = _config(method)
    transform = pipeline.frame_inputs(config, registry.get_task(config))
    expected = photometric.normalise_faces(np.stack(crops)[..., None], method)
    if method == "none":
        np.testing.assert_array_equal(expected, np.stack(crops)[..., None])
    else:
        assert not np.array_equal(expected, np.stack(crops)[..., None])
    np.testing.assert_array_equal(_training_pixels(records, transform), expected)
    np.testing.assert_array_equal(_evaluation_pixels(records, transform, config), expected)
    np.testing.assert_array_equal(_extraction_pixels(records, method), expected)
    np.testing.assert_array_equal(_prediction_pixels(crops, method), expected)


def test_training_normalises_before_augmenting():
    # Brightness x0.5 only: after normalising, the crop comes out at half its
    # normalised levels; normalising after would undo most of it.
    half_as_bright = augment.RandomAugment(
        augment.AugmentConfig(
            rotation_degrees=0.0,
            shift_fraction=0.0,
            zoom_range=(1.0, 1.0),
            horizontal_flip=False,
            brightness_range=(0.5, 0.5),
        )
    )
    records = _records([_crop(3)])
    config = _config("equalize")
    transform = pipeline.frame_inputs(config, registry.get_task(config))
    normalised = photometric.normalise_face(records[0]["image"], "equalize")
    expected = augment.apply_transform(normalised, augment.Transform(brightness=0.5))
    got = _training_pixels(records, transform, half_as_bright)[0]
    np.testing.assert_array_equal(got, expected)


def test_prediction_takes_the_normalisation_from_the_runs_config(tmp_path):
    # The fixture run was saved before the field existed: it loads as "none".
    assert video_model.load_video_model(LEGACY_CNN).photometric == "none"
    model = video_model.load_video_model(legacy_cnn_with(tmp_path, "clahe"), batch_size=4)
    assert model.photometric == "clahe" and model.description()["photometric"] == "clahe"
    crops = [_crop(4), _crop(5)]
    delivered = []
    batches = CnnBatches(model, lambda owners, outputs, features: delivered.append(outputs))
    for crop in crops:
        batches.add(0, crop)
    batches.flush()
    # The CNN's outputs on what evaluation would feed it (its transform, clahe).
    config = _config("clahe")
    transform = pipeline.frame_inputs(config, registry.get_task(config))
    evaluation = _evaluation_pixels(_records(crops), transform, config)[..., 0]
    expected, _ = model.collect(model.submit(evaluation))
    np.testing.assert_array_equal(np.concatenate(delivered), expected)
    raw, _ = model.collect(model.submit(np.stack(crops)))
    assert not np.allclose(raw, expected)  # The normalisation did reach the CNN.
