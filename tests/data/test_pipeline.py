"""The Grain pipeline: exact resume, evaluation untouched, balancing wired in."""

import numpy as np

from affect_jax.data import augment, pipeline, sources
from affect_jax.stages import inputs as stage_inputs
from affect_jax.tasks import registry
from tests.helpers import train_helpers


def _config(data_dir, **changes):
    config = train_helpers.tiny_config(data_dir)
    config.augment.enabled = True
    for key, value in changes.items():
        config[key] = value
    return config


def _next(iterator, count):
    return [next(iterator) for _ in range(count)]


def test_resumed_iterator_yields_the_uninterrupted_batches(tiny_affwild2, tmp_path):
    config = _config(tiny_affwild2)
    config.balancing.enabled = True
    config.balancing.rule = "flatten"
    inputs = stage_inputs.for_stage(config, registry.get_task(config), str(tmp_path))

    def fresh():
        return pipeline.training_iterator(
            inputs.train, inputs.transform, config, 8, augment=inputs.augment
        )

    # 15 batches of 8 run past the end of one epoch of the balanced subset.
    uninterrupted = fresh()
    _next(uninterrupted, 15)
    expected = _next(uninterrupted, 10)

    interrupted = fresh()
    _next(interrupted, 15)
    state = interrupted.get_state()
    resumed = fresh()
    resumed.set_state(state)
    for want, got in zip(expected, _next(resumed, 10), strict=True):
        for key in want:
            np.testing.assert_array_equal(want[key], got[key])


def test_augmentation_differs_per_epoch_and_stays_off_at_evaluation(tiny_affwild2, tmp_path):
    config = _config(tiny_affwild2, batch_size=1)
    inputs = stage_inputs.for_stage(config, registry.get_task(config), str(tmp_path))
    source = inputs.train
    iterator = pipeline.training_iterator(
        source, inputs.transform, config, 1, augment=inputs.augment
    )
    seen: dict[int, list[np.ndarray]] = {}
    for batch in _next(iterator, 2 * len(source)):
        key = int(batch["frame"][0]) * 1000 + int(batch["targets"][0, 0] * 997)
        seen.setdefault(key, []).append(batch["inputs"][0])
    twice = [images for images in seen.values() if len(images) == 2]
    assert twice, "every record should appear once per epoch"
    assert all(not np.array_equal(a, b) for a, b in twice)

    evaluation = sources.open_split("affwild2/va", tiny_affwild2, "validation")
    rows = []
    for batch in pipeline.evaluation_batches(evaluation, inputs.transform, config, 16):
        keep = batch["mask"] > 0
        rows.extend(zip(batch["inputs"][keep], batch["frame"][keep], strict=True))
    assert len(rows) == len(evaluation)
    for index, (image, frame) in enumerate(rows):
        record = evaluation[index]
        assert frame == record["frame"]
        np.testing.assert_array_equal(image, record["image"])  # Never augmented.


def test_balancing_trains_on_the_subset_and_writes_its_report(tiny_affwild2, tmp_path):
    config = _config(tiny_affwild2)
    config.balancing.enabled = True
    full = sources.open_split("affwild2/va", tiny_affwild2, "train")
    inputs = stage_inputs.for_stage(config, registry.get_task(config), str(tmp_path))
    assert 0 < len(inputs.train) < len(full)
    assert (tmp_path / "balancing.json").exists()
    assert (tmp_path / "balancing.png").stat().st_size > 10_000
    labels = np.array([[r["valence"], r["arousal"]] for r in (full[i] for i in range(len(full)))])
    zero = np.flatnonzero((labels == 0).all(1))
    assert len(zero), "the synthetic layout writes some exact (0, 0) frames"
    kept = {int(i) for i in inputs.train.indices}
    assert kept and not kept.intersection(zero.tolist())


def test_every_process_count_gives_the_same_global_batches_row_for_row(monkeypatch):
    # 37 records: batches of 8 straddle the reshuffled epochs.
    source = [{"inputs": np.full((1,), i, np.int32)} for i in range(37)]
    config = train_helpers.tiny_config("")

    def global_batches(count: int) -> np.ndarray:
        """The first 12 global batches of `count` processes, their blocks side by side."""
        monkeypatch.setattr(pipeline.jax, "process_count", lambda: count)
        blocks = []
        for index in range(count):
            monkeypatch.setattr(pipeline.jax, "process_index", lambda index=index: index)
            iterator = pipeline.training_iterator(source, None, config, 8 // count)
            blocks.append([next(iterator)["inputs"][:, 0] for _ in range(12)])
        return np.concatenate(blocks, axis=1)

    single = global_batches(1)
    assert len(set(single[:4].ravel().tolist())) == 32  # Within an epoch, no repeats.
    # Same examples in the same rows: dropout masks and any row-wise draw agree.
    np.testing.assert_array_equal(global_batches(2), single)
    np.testing.assert_array_equal(global_batches(4), single)


def test_augmentation_is_per_row_and_the_same_on_any_process_count(monkeypatch):
    """Each row's transform comes from its stream position: 1, 2 and 4 processes
    augment the same example the same way, and a row's draws change per epoch."""
    rng = np.random.default_rng(0)
    source = [{"image": rng.integers(0, 256, (12, 12, 1), np.uint8), "id": np.int32(i)}
              for i in range(21)]  # fmt: skip
    augmentation = augment.RandomAugment(augment.AugmentConfig())

    def global_batches(count: int) -> list[np.ndarray]:
        monkeypatch.setattr(pipeline.jax, "process_count", lambda: count)
        blocks = []
        for index in range(count):
            monkeypatch.setattr(pipeline.jax, "process_index", lambda index=index: index)
            dataset = pipeline.training_blocks(source, None, 3, 8 // count, augmentation)
            blocks.append([dataset[k] for k in range(6)])
        return [
            {key: np.concatenate([b[k][key] for b in blocks]) for key in ("image", "id")}
            for k in range(6)
        ]

    single = global_batches(1)
    for count in (2, 4):
        for want, got in zip(single, global_batches(count), strict=True):
            np.testing.assert_array_equal(want["id"], got["id"])
            np.testing.assert_array_equal(want["image"], got["image"])
    ids = np.concatenate([batch["id"] for batch in single])
    images = np.concatenate([batch["image"] for batch in single])
    # Unaugmented pixels never come out; the same record differs between epochs.
    assert not any(np.array_equal(images[r], source[ids[r]]["image"]) for r in range(len(ids)))
    first = {int(i): r for r, i in enumerate(ids[:21])}
    again = [(first[int(i)], r) for r, i in enumerate(ids[21:42], start=21)]
    assert all(not np.array_equal(images[a], images[b]) for a, b in again)


def test_row_uniforms_are_uniform_and_a_function_of_seed_and_position():
    positions = np.arange(20_000)
    uniforms = augment.row_uniforms(7, positions, 7)
    assert uniforms.shape == (20_000, 7) and uniforms.min() >= 0 and uniforms.max() < 1
    assert abs(uniforms.mean() - 0.5) < 0.005 and abs(uniforms.var() - 1 / 12) < 0.002
    # Columns and neighbouring rows are uncorrelated.
    assert np.abs(np.corrcoef(uniforms.T)[np.triu_indices(7, 1)]).max() < 0.03
    assert abs(np.corrcoef(uniforms[:-1, 0], uniforms[1:, 0])[0, 1]) < 0.03
    np.testing.assert_array_equal(augment.row_uniforms(7, positions[5:9], 7), uniforms[5:9])
    assert not np.array_equal(augment.row_uniforms(8, positions[:4], 7), uniforms[:4])
