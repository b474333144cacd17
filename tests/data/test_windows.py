"""Windows over gap-free runs, their targets, and per-frame interpolation."""

import numpy as np
import pytest

from affect_jax.data import windows


def _fixture():
    """Two videos; video 0 has a gap after frame 5, video 1 is too short."""
    video_ids = np.array([0] * 12 + [1] * 3)
    frames = np.array([1, 2, 3, 4, 5, 9, 10, 11, 12, 13, 14, 15, 1, 2, 3])
    return video_ids, frames


def _starts_by_brute_force(video_ids, frames, span, stride=1):
    """Every row that begins `span` consecutive frames of one video, strided per run."""
    starts, run_begin = [], 0
    for start in range(len(frames)):
        if start and (
            video_ids[start] != video_ids[start - 1] or frames[start] != frames[start - 1] + 1
        ):
            run_begin = start  # A new gap-free run: the stride counts from here.
        rows = range(start, start + span)
        if rows[-1] >= len(frames):
            break
        same_video = len({video_ids[r] for r in rows}) == 1
        consecutive = all(frames[r + 1] == frames[r] + 1 for r in rows[:-1])
        if same_video and consecutive and (start - run_begin) % stride == 0:
            starts.append(start)
    return starts


@pytest.mark.parametrize("stride", [1, 2, 3])
@pytest.mark.parametrize("length", [1, 2, 3, 4, 5, 7])
@pytest.mark.parametrize("target", ["next", "every"])
def test_window_starts_equal_brute_force(length, target, stride):
    video_ids, frames = _fixture()
    span = length + 1 if target == "next" else length
    starts = windows.window_starts(video_ids, frames, length, stride=stride, target=target)
    assert starts.tolist() == _starts_by_brute_force(video_ids, frames, span, stride)


def test_stride_and_short_video():
    video_ids, frames = _fixture()
    starts = windows.window_starts(video_ids, frames, 3, stride=2, target="every")
    # Stride restarts at every run: runs are rows 0-4, 5-11 and 12-14 (video 1).
    np.testing.assert_array_equal(starts, [0, 2, 5, 7, 9, 12])
    assert 12 not in windows.window_starts(video_ids, frames, 4, target="every")


def test_next_target_is_the_frame_after_the_window():
    video_ids, frames = _fixture()
    features = np.arange(len(frames), dtype=np.float32)[:, None].repeat(4, 1)
    labels = np.stack([frames, -frames], 1).astype(np.float32)
    starts = windows.window_starts(video_ids, frames, 3, target="next")
    source = windows.WindowSource(features, labels, starts, 3, "next")
    for i in range(len(source)):
        element = source[i]
        last_row = int(element["inputs"][-1, 0])
        assert element["row"] == last_row + 1
        assert element["targets"][0] == frames[last_row] + 1  # The next frame's label.
        assert element["inputs"].shape == (3, 4)


def test_every_target_labels_each_frame():
    video_ids, frames = _fixture()
    labels = np.stack([frames, frames], 1).astype(np.float32)
    starts = windows.window_starts(video_ids, frames, 4, target="every")
    element = windows.WindowSource(np.zeros((15, 2)), labels, starts, 4, "every")[0]
    np.testing.assert_array_equal(element["targets"][:, 0], frames[:4])


def test_unknown_target_lists_valid_names():
    with pytest.raises(ValueError, match="next, every"):
        windows.window_starts(np.zeros(3), np.arange(3), 2, target="last")


def test_interpolation_is_exactly_linear_with_end_fill():
    known = np.array([3, 7, 11])
    values = np.array([[0.0, 1.0], [0.4, -1.0], [-0.4, 0.0]])
    query = np.array([1, 2, 4, 5, 6, 8, 12, 20])
    filled = windows.fill_by_interpolation(known, values, query)
    expected_v = [0.0, 0.0, 0.1, 0.2, 0.3, 0.2, -0.4, -0.4]
    expected_a = [1.0, 1.0, 0.5, 0.0, -0.5, -0.75, 0.0, 0.0]
    np.testing.assert_allclose(filled[:, 0], expected_v, atol=1e-12)
    np.testing.assert_allclose(filled[:, 1], expected_a, atol=1e-12)


def test_videos_shorter_than_the_window_are_counted():
    video_ids, frames = _fixture()
    starts = windows.window_starts(video_ids, frames, 4, target="every")
    assert windows.count_windows(video_ids, starts) == {
        "windows": 2 + 4,  # Video 0: runs of 5 and 7 frames; video 1 (3 frames): none.
        "videos": 2,
        "videos_without_windows": 1,
    }


def test_a_memory_mapped_store_goes_to_workers_by_path_not_by_copy(tmp_path):
    """Grain workers get the source pickled: a 1 GB store must not travel as 1 GB."""
    import pickle

    features = np.random.default_rng(0).standard_normal((5000, 300)).astype(np.float16)
    np.save(tmp_path / "features.npy", features)
    mapped = np.load(tmp_path / "features.npy", mmap_mode="r")
    labels = np.zeros((5000, 2), np.float32)
    starts = windows.window_starts(np.zeros(5000, np.int32), np.arange(5000), 100)
    source = windows.WindowSource(mapped, labels, starts, 100, "next")
    shipped = pickle.dumps(source)
    assert len(shipped) < len(starts) * 8 + labels.nbytes + 10_000  # Not the 3 MB of features.
    received = pickle.loads(shipped)
    for index in (0, 17, len(source) - 1):
        np.testing.assert_array_equal(received[index]["inputs"], source[index]["inputs"])
    # A view of the map (not the whole file) pickles its own rows, as numpy would.
    view = windows.WindowSource(mapped[1000:], labels[1000:], starts[:5], 100, "next")
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(view))[3]["inputs"], view[3]["inputs"])
