"""VA-bin balancing: each rule's keep rate, seeding, (0, 0) frames, bin edges, errors."""

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import tensorflow_datasets as tfds

from affect_jax import config as config_lib
from affect_jax.data import label_reader, va_balancing
from affect_jax.plots.balancing import plot_histograms

BINS = 40
EDGES = np.linspace(-1, 1, BINS + 1)
CENTRES = (EDGES[:-1] + EDGES[1:]) / 2


def _labels(seed=0, populated=120):
    """Frames at bin centres: `populated` random bins with 20..4000 frames each."""
    rng = np.random.default_rng(seed)
    bins = rng.choice(BINS * BINS, populated, replace=False)
    counts = np.round(np.exp(rng.uniform(np.log(20), np.log(4000), populated))).astype(int)
    flat = np.repeat(bins, counts)
    rng.shuffle(flat)
    return CENTRES[flat // BINS], CENTRES[flat % BINS]


def _expected_keep_rate(k: float, k_max: float, rule: str) -> float:
    """A bin of k frames, per REFERENCE.md ("Balancing Aff-Wild2 by valence-arousal bins")."""
    if rule == "reference":
        # The authors' code: "p = 1 - k/k_max (bins with k >= k_max vanish)".
        return 0.0 if k >= k_max else 1.0 - k / k_max
    if rule == "flatten":
        # "p = min(1, k_max/k)": bins of up to k_max frames are kept whole.
        return 1.0 if k <= k_max else k_max / k
    return 1.0  # "none": only the (0, 0) frames go.


@pytest.mark.parametrize("rule", va_balancing.KEEP_RULES)
@pytest.mark.parametrize("mode", va_balancing.K_MAX_MODES)
def test_kept_fraction_per_bin_follows_the_rule(rule, mode):
    valence, arousal = _labels()
    result = va_balancing.select_indices(valence, arousal, rule=rule, k_max_mode=mode, seed=3)
    counts, _, _ = np.histogram2d(valence, arousal, bins=[EDGES, EDGES])
    k_max = {
        "max": counts.max(),
        "mean": counts.sum() / BINS**2,
        "max_mean": (counts.max() + counts.sum() / BINS**2) / 2,
    }[mode]
    assert result.k_max == pytest.approx(k_max)
    np.testing.assert_array_equal(result.hist_before, counts)

    kept, _, _ = np.histogram2d(valence[result.indices], arousal[result.indices], [EDGES, EDGES])
    np.testing.assert_array_equal(result.hist_after, kept)
    filled = counts > 0
    k = counts[filled]
    p = np.array([_expected_keep_rate(count, k_max, rule) for count in k])
    np.testing.assert_allclose(result.keep_probability[filled], p)
    # No slack where the rule leaves no chance: p = 0 keeps no frame, p = 1 all.
    np.testing.assert_array_equal(kept[filled][p == 0], 0)
    np.testing.assert_array_equal(kept[filled][p == 1], k[p == 1])
    if rule == "reference":
        assert (p == 0).sum() >= 1  # The largest bin at least: the case occurs.
    # The other bins: binomial sampling error, within 5 standard deviations.
    partial = (p > 0) & (p < 1)
    sigma = np.sqrt(k * p * (1 - p))
    assert np.all(np.abs(kept[filled] - k * p)[partial] <= 5 * sigma[partial] + 1)
    assert abs(result.num_kept - (k * p).sum()) <= 5 * np.sqrt((k * p * (1 - p)).sum()) + 1
    assert np.all(np.diff(result.indices) > 0)  # Sorted, no repeats.


def test_flatten_caps_bins_near_k_max():
    valence, arousal = _labels()
    result = va_balancing.select_indices(
        valence, arousal, rule="flatten", k_max_mode="mean", seed=0
    )
    big = result.hist_before > 4 * result.k_max
    assert np.all(np.abs(result.hist_after[big] - result.k_max) < 5 * np.sqrt(result.k_max) + 1)


def test_same_seed_same_subset_and_other_seed_another():
    valence, arousal = _labels()
    runs = [
        va_balancing.select_indices(valence, arousal, rule="reference", k_max_mode="max", seed=s)
        for s in (7, 7, 8)
    ]
    np.testing.assert_array_equal(runs[0].indices, runs[1].indices)
    assert not np.array_equal(runs[0].indices, runs[2].indices)


def test_zero_zero_frames_are_never_kept():
    valence, arousal = _labels(populated=30)
    valence = np.concatenate([valence, np.zeros(5000), [0.0, 0.5]])
    arousal = np.concatenate([arousal, np.zeros(5000), [0.5, 0.0]])
    result = va_balancing.select_indices(valence, arousal, rule="none", k_max_mode="max", seed=0)
    assert result.num_zero_dropped == 5000
    kept = (valence[result.indices] == 0) & (arousal[result.indices] == 0)
    assert not kept.any()
    # One zero coordinate is an ordinary frame; rule "none" keeps all of those.
    assert result.num_kept == len(valence) - 5000
    assert result.hist_before.sum() == len(valence) - 5000


def test_arousal_is_binned_with_its_own_edges():
    rng = np.random.default_rng(0)
    valence = rng.uniform(-1, 1, 20_000)
    arousal = rng.uniform(-0.5, 0.5, 20_000)
    arousal[:2] = [-0.5, 0.5]  # Both ends of the range, like np.histogram2d.
    result = va_balancing.select_indices(
        valence, arousal, rule="none", k_max_mode="max", seed=0, arousal_range=(-0.5, 0.5)
    )
    arousal_edges = np.linspace(-0.5, 0.5, BINS + 1)
    np.testing.assert_allclose(result.arousal_edges, arousal_edges)
    np.testing.assert_allclose(result.valence_edges, EDGES)
    expected, _, _ = np.histogram2d(valence, arousal, bins=[EDGES, arousal_edges])
    np.testing.assert_array_equal(result.hist_before, expected)
    # With the valence edges, all arousal would fall into the middle 20 bins.
    assert result.hist_before[:, :5].sum() > 0


def test_upper_edge_belongs_to_the_last_bin():
    index = va_balancing.bin_index(np.array([-1.0, -0.95, 0.0, 0.999, 1.0]), EDGES)
    np.testing.assert_array_equal(index, [0, 1, 20, 39, 39])


@pytest.mark.parametrize(
    "kwargs, names",
    [
        (dict(rule="paper", k_max_mode="max"), va_balancing.KEEP_RULES),
        (dict(rule="reference", k_max_mode="median"), va_balancing.K_MAX_MODES),
    ],
)
def test_unknown_rule_or_mode_lists_the_valid_names(kwargs, names):
    valence, arousal = _labels(populated=5)
    with pytest.raises(ValueError) as error:
        va_balancing.select_indices(valence, arousal, seed=0, **kwargs)
    for name in names:
        assert name in str(error.value)


def test_a_subset_with_no_frame_is_an_error():
    # One bin only: under "reference" its k equals k_max, so p = 0 everywhere.
    valence, arousal = np.full(100, 0.3), np.full(100, -0.2)
    with pytest.raises(ValueError, match="keeps none"):
        va_balancing.select_indices(valence, arousal, rule="reference", k_max_mode="max", seed=0)
    with pytest.raises(ValueError, match="nothing to balance"):
        va_balancing.select_indices(
            np.zeros(10), np.zeros(10), rule="none", k_max_mode="max", seed=0
        )


def test_labels_outside_the_range_are_an_error():
    with pytest.raises(ValueError, match="arousal labels lie outside"):
        va_balancing.select_indices(
            np.array([0.1, 0.2]), np.array([0.1, -5.0]), rule="none", k_max_mode="max", seed=0
        )


@pytest.fixture
def tiny_copy(tiny_affwild2, tmp_path):
    """A private copy of the tiny dataset: these tests write caches and touch shards."""
    import data_builders.affwild2  # noqa: F401  Registers the builder.

    shutil.copytree(tiny_affwild2, tmp_path / "tfds")
    return tfds.builder("affwild2/va", data_dir=str(tmp_path / "tfds"))


def test_read_labels_matches_decoded_records_and_its_cache_is_invalidated(tiny_copy):
    source = tiny_copy.as_data_source("train")
    decoded = {
        k: np.array([source[i][k] for i in range(len(source))]) for k in ("valence", "frame")
    }
    labels = label_reader.read_labels(source, ("valence", "frame"))
    for name, values in decoded.items():
        np.testing.assert_array_equal(labels[name], values)
    # The dtypes the builder declares (records decode scalars as Python numbers).
    assert (labels["valence"].dtype, labels["frame"].dtype) == (np.float32, np.int32)
    part = label_reader.read_labels(tiny_copy.as_data_source("train[10:30]"), ("valence", "frame"))
    np.testing.assert_array_equal(part["frame"], decoded["frame"][10:30])

    (cache,) = (Path(tiny_copy.data_path) / "label_cache").glob("*.npz")
    with np.load(cache) as stored:
        fingerprint = stored["fingerprint"]
    # A cache whose fingerprint matches is believed...
    np.savez(cache, fingerprint=fingerprint, valence=-labels["valence"], frame=labels["frame"])
    cached = label_reader.read_labels(source, ("valence", "frame"))
    np.testing.assert_array_equal(cached["valence"], -labels["valence"])
    # ...until the shard changes (a rebuild rewrites it).
    (shard,) = Path(tiny_copy.data_path).glob("*-train.array_record*")
    os.utime(shard, ns=(shard.stat().st_atime_ns, shard.stat().st_mtime_ns + 10**9))
    fresh = label_reader.read_labels(source, ("valence", "frame"))
    np.testing.assert_array_equal(fresh["valence"], labels["valence"])


def test_balanced_training_source_reports_and_refuses_other_splits(tiny_copy, tmp_path):
    import ml_collections

    config = ml_collections.ConfigDict({"dataset": {"train_split": "train"}})
    config.balancing = config_lib.va_balancing_options()
    config.balancing.rule = "flatten"
    config.balancing.k_max_mode = "mean"
    subset, result = va_balancing.balanced_training_source(
        tiny_copy.as_data_source("train"), config
    )
    va_balancing.write_summary(result, tmp_path / "balancing.json")
    plot_histograms(result, tmp_path / "balancing.png")
    assert len(subset) == result.num_kept > 0
    full = tiny_copy.as_data_source("train")
    assert subset[0]["frame"] == full[int(result.indices[0])]["frame"]
    assert (tmp_path / "balancing.png").read_bytes()[:4] == b"\x89PNG"
    summary = (tmp_path / "balancing.json").read_text()
    assert '"rule": "flatten"' in summary and f'"subset_size": {result.num_kept}' in summary
    with pytest.raises(ValueError, match="only the training split"):
        va_balancing.balanced_training_source(tiny_copy.as_data_source("validation"), config)
