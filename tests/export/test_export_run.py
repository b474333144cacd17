"""python -m affect_jax.export: a run's exported folder predicts what the run predicts.

The runs are the committed fixtures written by earlier code (a VA CNN, a
multitask CNN and an expression GRU over it). The reference is `predict` on
the run itself, which restores it with JAX; the exported folder is predicted
through onnxruntime, in-process and in a process where JAX cannot be imported.
"""

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import onnx
import pytest

from affect_jax.inference import exported_model, predict_videos
from affect_jax.inference.exported_folder import ExportedFolderError
from affect_jax.onnx_export import export_run as export_module
from affect_jax.onnx_export.export_run import export_run
from affect_jax.onnx_export.graph_builder import ExportError
from affect_jax.synthetic import portrait_video

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
LEGACY, MULTITASK = FIXTURES / "legacy_run_2026_12_01", FIXTURES / "run_2026_12_06"
RUNS = {  # name: (checkpoint, its CNN where the RNN's feature store is gone)
    "va_cnn": (LEGACY / "cnn", None),
    "multitask_cnn": (MULTITASK / "cnn", None),
    "expression_gru": (MULTITASK / "gru", MULTITASK / "cnn"),
}
# Frames 8-11 have no face: the GRU's windows restart after the gap.
NO_FACE = list(range(8, 12))
LABEL_COLUMNS = ("expression", "au_active")


@pytest.fixture(scope="module")
def video(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("video") / "talk.avi"
    portrait_video.write_portrait_video(path, 24, no_face=NO_FACE, seed=4)
    return str(path)


def _predict(checkpoint, video, out, cnn_checkpoint=None) -> list[dict]:
    summary = predict_videos.predict_videos(
        str(checkpoint), [video], str(out), cnn_checkpoint=cnn_checkpoint and str(cnn_checkpoint)
    )
    name = Path(video).stem
    assert summary.exit_code == 0 and summary.written == [name], summary.lines()
    with open(out / f"{name}.csv", newline="") as file:
        return list(csv.DictReader(file))


def _assert_same_predictions(got: list[dict], expected: list[dict], tolerance: float) -> None:
    assert list(got[0]) == list(expected[0]) and len(got) == len(expected)
    numeric = [
        c for c in expected[0] if c.startswith(("valence", "arousal", "expression_prob", "au_prob"))
    ]
    assert numeric, expected[0]
    for row, reference in zip(got, expected, strict=True):
        assert row["face_found"] == reference["face_found"]
        assert row["interpolated"] == reference["interpolated"]
        for column in numeric:
            if reference[column] == "":
                assert row[column] == "", column
                continue
            assert abs(float(row[column]) - float(reference[column])) <= tolerance, column


@pytest.mark.parametrize("run", list(RUNS))
def test_an_exported_run_predicts_the_csv_of_the_jax_run(run, video, tmp_path):
    checkpoint, cnn = RUNS[run]
    expected = _predict(checkpoint, video, tmp_path / "jax", cnn)
    assert sum(r["face_found"] == "1" for r in expected) == 24 - len(NO_FACE)
    spec = export_run(checkpoint, tmp_path / "exported", cnn_checkpoint=cnn)
    assert sorted(p.name for p in (tmp_path / "exported").iterdir()) == sorted(
        ["model.json", *spec.files()]
    )
    got = _predict(tmp_path / "exported", video, tmp_path / "onnx")
    _assert_same_predictions(got, expected, 1e-4)
    for column in (c for c in LABEL_COLUMNS if c in expected[0]):  # Derived: equal.
        assert [r[column] for r in got] == [r[column] for r in expected]
    if run == "expression_gru":
        assert spec.rnn["window"] == 3 and (tmp_path / "exported" / "rnn.onnx").is_file()
        # No run of 4 frames with a face: the GRU predicts nothing, its CNN's head does.
        short = str(tmp_path / "short.avi")
        portrait_video.write_portrait_video(short, 6, no_face=[3], seed=5)
        cnn_alone = _predict(checkpoint, short, tmp_path / "jax_short", cnn)
        assert all(r["interpolated"] == "0" for r in cnn_alone if r["face_found"] == "1")
        _assert_same_predictions(
            _predict(tmp_path / "exported", short, tmp_path / "s"), cnn_alone, 1e-4
        )
        export_run(checkpoint, tmp_path / "half", precision="float16", cnn_checkpoint=cnn)
        half = tmp_path / "half"
        assert (half / "cnn.onnx").stat().st_size < 0.6 * (
            tmp_path / "exported" / "cnn.onnx"
        ).stat().st_size
        _assert_same_predictions(_predict(half, video, tmp_path / "onnx16"), expected, 1e-2)


def test_an_exported_folder_predicts_where_jax_cannot_be_imported(video, tmp_path):
    checkpoint, cnn = RUNS["expression_gru"]
    export_run(checkpoint, tmp_path / "exported", cnn_checkpoint=cnn)
    expected = _predict(tmp_path / "exported", video, tmp_path / "in_process")
    blocked = "jax jaxlib flax optax orbax tensorflow grain".split()
    script = (
        "import sys\n"
        f"for name in {blocked!r}: sys.modules[name] = None  # import raises ImportError\n"
        "from affect_jax import predict\n"
        "predict.run()\n"
    )
    out = tmp_path / "no_jax"
    flags = [f"--checkpoint={tmp_path / 'exported'}", f"--input={video}", f"--output={out}"]
    result = subprocess.run(
        [sys.executable, "-c", script, *flags], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "1 written, 0 failed." in result.stdout
    with open(out / "talk.csv", newline="") as file:
        _assert_same_predictions(list(csv.DictReader(file)), expected, 1e-6)
    assert (out / "talk_timeline.png").stat().st_size > 10_000


@pytest.fixture(scope="module")
def exported_gru(tmp_path_factory) -> Path:
    checkpoint, cnn = RUNS["expression_gru"]
    folder = tmp_path_factory.mktemp("exported") / "gru"
    export_run(checkpoint, folder, cnn_checkpoint=cnn)
    return folder


def _broken_copy(exported_gru: Path, tmp_path: Path, breakage: str) -> Path:
    folder = tmp_path / breakage
    shutil.copytree(exported_gru, folder)
    if breakage == "missing_rnn":
        (folder / "rnn.onnx").unlink()
    elif breakage == "newer_format":
        spec = json.loads((folder / "model.json").read_text())
        spec["format_version"] += 1
        (folder / "model.json").write_text(json.dumps(spec))
    elif breakage == "other_opset":
        graph = onnx.load(str(folder / "cnn.onnx"))
        graph.opset_import[0].version = 16
        onnx.save(graph, str(folder / "cnn.onnx"))
    elif breakage == "truncated_cnn":
        data = (folder / "cnn.onnx").read_bytes()
        (folder / "cnn.onnx").write_bytes(data[: len(data) // 3])
    return folder


@pytest.mark.parametrize(
    "breakage, message",
    [
        ("missing_rnn", r"lacks rnn\.onnx, which its model\.json lists: copy the whole folder"),
        ("newer_format", r"format version 2, newer than this affect-jax reads.*upgrade affect-jax"),
        ("other_opset", r"cnn\.onnx uses ONNX opset \[16\], but its model\.json says 17.*Export"),
        ("truncated_cnn", r"cnn\.onnx is not a readable ONNX file.*copy it again"),
    ],
)
def test_a_broken_exported_folder_is_refused_with_what_to_do(
    exported_gru, tmp_path, breakage, message
):
    folder = _broken_copy(exported_gru, tmp_path, breakage)
    with pytest.raises(ExportedFolderError, match=message):
        exported_model.load_exported_model(folder)


def test_the_predict_command_says_so_in_one_line(exported_gru, video, tmp_path):
    folder = _broken_copy(exported_gru, tmp_path, "missing_rnn")
    flags = [f"--checkpoint={folder}", f"--input={video}", f"--output={tmp_path / 'out'}"]
    result = subprocess.run(
        [sys.executable, "-m", "affect_jax.predict", *flags],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error")]
    assert errors == [
        f"Error (ExportedFolderError): Cannot use --checkpoint: {folder} lacks rnn.onnx, which "
        "its model.json lists: copy the whole folder, or export the run again (python -m "
        "affect_jax.export)."
    ], result.stderr[-2000:]
    assert not (tmp_path / "out" / "talk.csv").exists()


def test_a_failed_export_leaves_nothing_and_keeps_what_was_there(
    exported_gru, tmp_path, monkeypatch
):
    checkpoint, cnn = RUNS["expression_gru"]
    with pytest.raises(ExportError, match="exists: choose another --output, or pass --overwrite"):
        export_run(checkpoint, exported_gru, cnn_checkpoint=cnn)
    # A graph that does not compute what the run computes is caught before writing.
    real_graph = export_module.cnn_graph

    def wrong_head(variables, *args):
        variables["params"]["head"]["bias"] = variables["params"]["head"]["bias"] + 0.5
        return real_graph(variables, *args)

    monkeypatch.setattr(export_module, "cnn_graph", wrong_head)
    with pytest.raises(ExportError, match="cnn outputs differ from JAX's.*nothing was written"):
        export_run(checkpoint, tmp_path / "wrong", cnn_checkpoint=cnn)
    monkeypatch.setattr(export_module, "cnn_graph", real_graph)
    # A write that fails half way (the disk fills after the first graph).
    target = tmp_path / "replaced"
    shutil.copytree(exported_gru, target)
    before = {p.name: p.read_bytes() for p in target.iterdir()}
    saves, real_save = [], onnx.save

    def failing_save(graph, path):
        saves.append(path)
        if len(saves) == 2:
            raise OSError(28, "No space left on device")
        real_save(graph, path)

    monkeypatch.setattr(export_module.onnx, "save", failing_save)
    for output, overwrite in ((tmp_path / "new", False), (target, True)):
        saves.clear()
        with pytest.raises(OSError, match="No space left"):
            export_run(checkpoint, output, cnn_checkpoint=cnn, overwrite=overwrite)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["replaced"]  # No partial folder.
    assert {p.name: p.read_bytes() for p in target.iterdir()} == before
