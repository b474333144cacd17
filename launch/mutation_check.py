"""Applies targeted mutations one at a time and checks that the guarding tests catch each.

    python launch/mutation_check.py [--only NAME,...] [--python PYTHON]

By hand, not in CI (about 15 minutes on 2 cores). For each mutation: a fresh
copy of the tracked files (plus the built oneDNN extension), one exact text
replacement in one module, then pytest on the test files that guard it. It
prints CAUGHT or MISSED per mutation with the tests that failed; it exits 1 if
any mutation is missed or its text is no longer found (the list must follow
the code it mutates).
"""

import argparse
import dataclasses
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


@dataclasses.dataclass(frozen=True)
class Mutation:
    name: str  # The promise it breaks.
    path: str
    old: str
    new: str
    tests: tuple[str, ...]  # pytest arguments: files, `-k` expressions.


MUTATIONS = (
    Mutation(
        "CCC: the covariance loses its factor 2",
        "affect_jax/tasks/losses.py",
        "return 2.0 * covariance /",
        "return covariance /",
        ("tests/tasks/test_losses_metrics.py",),
    ),
    Mutation(
        "class-weighted loss: unlabelled frames weigh like labelled ones",
        "affect_jax/tasks/losses.py",
        "weights, mask=(labels >= 0).astype(logits.dtype)",
        "weights, mask=None",
        ("tests/tasks/test_task_rows.py",),
    ),
    Mutation(
        "softmax: the numerator alone",
        "affect_jax/tasks/activations.py",
        "return shifted / shifted.sum(-1, keepdims=True)",
        "return shifted",
        ("tests/tasks/test_task_rows.py",),
    ),
    Mutation(
        "older task names: ccc read as the MSE task",
        "affect_jax/tasks/registry.py",
        '"ccc": "va",',
        '"ccc": "va_mse",',
        ("tests/tasks/test_task_rows.py",),
    ),
    Mutation(
        "multitask weights: the task names reordered",
        "affect_jax/tasks/multitask.py",
        'TASK_NAMES = ("va", "expression", "au")',
        'TASK_NAMES = ("au", "expression", "va")',
        ("tests/stages/test_rnn_task_losses.py", "-k", "task_weights"),
    ),
    Mutation(
        "AU thresholds: chosen on the wrong output columns",
        "affect_jax/tasks/thresholds.py",
        "best_f1_thresholds(outputs[:, columns],",
        "best_f1_thresholds(outputs[:, : len(columns)],",
        ("tests/tasks/test_thresholds.py",),
    ),
    Mutation(
        "class balancing: labels out of range accepted",
        "affect_jax/data/class_balancing.py",
        "bad = (labels < 0) | (labels >= num_classes)",
        "bad = labels < 0",
        ("tests/data/test_class_balancing.py",),
    ),
    Mutation(
        "VA balancing: the reference rule keeps crowded bins",
        "affect_jax/data/va_balancing.py",
        "return np.clip(1.0 - counts / k_max, 0.0, 1.0)",
        "return np.clip(1.0 - counts / (2 * k_max), 0.0, 1.0)",
        ("tests/data/test_balancing.py",),
    ),
    Mutation(
        "windows: a window may run one frame past its gap-free run",
        "affect_jax/data/windows.py",
        "np.arange(begin, end - span + 1, stride)",
        "np.arange(begin, end - span + 2, stride)",
        ("tests/data/test_windows.py",),
    ),
    Mutation(
        "class weights never reach the train step",
        "affect_jax/stages/train.py",
        "steps.make_train_step(config, task, mesh, stage_inputs.class_weights)",
        "steps.make_train_step(config, task, mesh, None)",
        ("tests/stages/test_classification.py", "-k", "ck_plus_learns"),
    ),
    Mutation(
        "cross-dataset rows: predictions replaced by the labels",
        "affect_jax/stages/cross_dataset.py",
        'predicted = predictions["outputs"].argmax(-1)',
        'predicted = predictions["label"]',
        ("tests/stages/test_expression_folders.py", "-k", "trains_on"),
    ),
    Mutation(
        "cross-dataset: targets of other classes not refused",
        "affect_jax/stages/cross_dataset.py",
        "            _check_label_space(target, config)\n",
        "",
        ("tests/stages/test_expression_folders.py", "-k", "refused"),
    ),
    Mutation(
        "results.json written by every process",
        "affect_jax/stages/outputs.py",
        "    if jax.process_index() != 0:\n        return\n",
        "",
        ("tests/training/test_multi_process.py",),
    ),
    Mutation(
        "restoring: BatchNorm statistics not the checkpoint's",
        "affect_jax/training/run.py",
        "        return checkpoints.restore(manager, step, target, None, config)\n",
        "        restored = checkpoints.restore(manager, step, target, None, config)\n"
        "        return restored.replace(\n"
        "            batch_stats=jax.tree.map(lambda x: x * 0 + 1, restored.batch_stats)\n"
        "        )\n",
        ("tests/stages/test_temporal.py", "-k", "restored_cnn"),
    ),
    Mutation(
        "resume: the oldest step instead of the newest",
        "affect_jax/training/resume.py",
        "for step in sorted(manager.all_steps(), reverse=True):",
        "for step in sorted(manager.all_steps()):",
        ("tests/training/test_crash_safety.py",),
    ),
    Mutation(
        "oneDNN: every convolution falls back to lax",
        "affect_jax/models/onednn/conv.py",
        "    if pads is None:",
        "    if True:",
        ("tests/models/test_onednn_conv.py", "-k", "model_shapes"),
    ),
    Mutation(
        "oneDNN: the CNN never passes its convolutions on",
        "affect_jax/models/cnn.py",
        'conv_function = onednn_conv.conv_general_dilated if conv_backend == "onednn" else None',
        "conv_function = None",
        ("tests/models/test_onednn_conv.py", "-k", "frame_cnn"),
    ),
    Mutation(
        "GRU: the reset gate half-weights the state",
        "affect_jax/models/wavefront.py",
        "r = jax.nn.sigmoid(x_r + h_r)",
        "r = jax.nn.sigmoid(x_r + 0.5 * h_r)",
        ("tests/training/test_legacy_runs.py", "-k", "legacy_gru"),
    ),
    Mutation(
        "Keras mapping: the GRU's z and r gates swapped",
        "affect_jax/keras_import/mapping.py",
        "z, r, h = (slice(k * size, (k + 1) * size) for k in range(3))",
        "r, z, h = (slice(k * size, (k + 1) * size) for k in range(3))",
        ("tests/models/test_keras_hdf5.py", "-k", "gru"),
    ),
    Mutation(
        "tracking: max_faces keeps the shortest tracks",
        "affect_jax/faces/track.py",
        "kept = sorted(kept, key=lambda t: -len(t.frames))[: self.max_faces]",
        "kept = sorted(kept, key=lambda t: len(t.frames))[: self.max_faces]",
        ("tests/faces/test_tracking.py", "-k", "max_faces"),
    ),
    Mutation(
        "class folders: a non-square image's square taken from its corner",
        "affect_jax/faces/detect.py",
        "return Box((width - side) // 2, (height - side) // 2, side, side)",
        "return Box(0, 0, side, side)",
        ("tests/data_builders/test_face_folders_builder.py", "-k", "non_square"),
    ),
    Mutation(
        "several faces: every face gets the first face's crop",
        "affect_jax/inference/video_faces.py",
        "plan = plans[t]",
        "plan = plans[0]",
        ("tests/inference/test_predict.py", "-k", "larger_face"),
    ),
    Mutation(
        "annotated video: no face boxes drawn",
        "affect_jax/inference/outputs.py",
        "        cv2.rectangle(frame, (box.x, box.y), (box.x + box.width, box.y + box.height), "
        "_GREEN, 2)\n",
        "",
        ("tests/inference/test_predict.py", "-k", "avi_and_mp4"),
    ),
    Mutation(
        "prediction: the GRU reads features not rounded as in training",
        "affect_jax/inference/video_model.py",
        "        features = features.astype(self.feature_dtype).astype(np.float32)\n",
        "",
        ("tests/inference/test_predict.py", "-k", "avi_and_mp4"),
    ),
    Mutation(
        "start-up: freed memory kept before the XLA flag is set",
        "affect_jax/startup.py",
        '    if _setting(config, "fast_cpu_convolutions", True):\n'
        '        started["fast_cpu_flag"] = runtime.apply_fast_cpu_flags()\n'
        '    started["keep_freed_memory"] = host_memory.keep_freed_memory_unless_declined()\n',
        '    started["keep_freed_memory"] = host_memory.keep_freed_memory_unless_declined()\n'
        '    if _setting(config, "fast_cpu_convolutions", True):\n'
        '        started["fast_cpu_flag"] = runtime.apply_fast_cpu_flags()\n',
        ("tests/test_startup.py",),
    ),
    Mutation(
        "GPU check: the CNN bar's comparison inverted",
        "benchmarks/gpu_check_bars.py",
        "bool(rate) and rate >= BAR_FRAMES_PER_S",
        "bool(rate) and rate < BAR_FRAMES_PER_S",
        ("tests/test_gpu_check.py", "-k", "verdicts"),
    ),
    Mutation(
        "ONNX GRU: the reset gate applied before the recurrent product",
        "affect_jax/onnx_export/rnn_graph.py",
        '{"linear_before_reset": 1}',
        '{"linear_before_reset": 0}',
        ("tests/export/test_onnx_graphs.py",),
    ),
    Mutation(
        "ONNX CNN: the quadrants flattened channel-first",
        "affect_jax/onnx_export/cnn_graph.py",
        '"to_nhwc", perm=[0, 2, 3, 1]',
        '"to_nhwc", perm=[0, 1, 2, 3]',
        ("tests/export/test_onnx_graphs.py",),
    ),
    Mutation(
        "exported folder: predicting imports JAX",
        "affect_jax/inference/exported_model.py",
        "import numpy as np\n",
        "import numpy as np\nimport jax  # noqa: F401\n",
        ("tests/export/test_export_run.py", "-k", "cannot_be_imported"),
    ),
    Mutation(
        "exported folder: the CNN's value columns ignored for an RNN run",
        "affect_jax/inference/exported_model.py",
        'cnn_columns=tuple(spec.cnn["value_columns"]),',
        "cnn_columns=tuple(range(len(spec.values))),",
        ("tests/export/test_export_run.py", "-k", "gru"),
    ),
    Mutation(
        "prediction: each GRU window's frames out of order (newest first)",
        "affect_jax/inference/track_values.py",
        "rows = np.arange(row - window + 1, row + 1) % window",
        "rows = np.arange(row - window, row) % window",
        ("tests/inference/test_predict.py", "-k", "avi_and_mp4"),
    ),
    Mutation(
        "framing: small images searched at their own size",
        "affect_jax/faces/framing.py",
        "    if side >= SMALL_IMAGE_SIDE:\n",
        "    if True:\n",
        ("tests/faces/test_framing.py", "tests/data_builders/test_face_folders_builder.py"),
    ),
    Mutation(
        "framing: aligned faces cut at the detector's box",
        "affect_jax/faces/framing.py",
        "            matrix = align.alignment_matrix(eyes, size, self.framing.margin)",
        "            matrix = _box_matrix(box, self.framing.margin, size)",
        ("tests/faces/test_framing.py",),
    ),
    Mutation(
        "framing: builds do not record theirs",
        "data_builders/ck_plus/face_crop_builder.py",
        "        self.info.metadata.update(self.face_crop_json())\n",
        "",
        ("tests/data_builders/test_face_folders_builder.py", "-k", "48x48"),
    ),
    Mutation(
        "framing: prediction ignores the one the model was trained on",
        "affect_jax/predict.py",
        "    name = _FRAMING.value or trained_framing(training_data)",
        "    name = _FRAMING.value",
        ("tests/stages/test_classification.py", "-k", "transfers"),
    ),
    Mutation(
        "shared classes: the absent classes' logits left in",
        "affect_jax/tasks/metrics.py",
        "    return np.where(np.asarray(allowed, bool), np.asarray(logits, np.float64), -np.inf)",
        "    return np.asarray(logits, np.float64)",
        ("tests/stages/test_shared_classes.py",),
    ),
    Mutation(
        "training skips the photometric normalisation",
        "affect_jax/data/pipeline.py",
        "            elements = [self.transform.normalise(element) for element in elements]\n"
        "        if self.augment is not None:",
        "            pass\n        if self.augment is not None:",
        ("tests/inference/test_photometric_paths.py",),
    ),
    Mutation(
        "resuming ignores the photometric setting the checkpoint was trained with",
        "affect_jax/training/checkpoints.py",
        "    if old_method != new_method:",
        "    if False:",
        ("tests/test_malformed_inputs.py", "-k", "photometric"),
    ),
    Mutation(
        "prediction ignores the training build's face margin",
        "affect_jax/predict.py",
        '    if margin is not None and not flags.FLAGS["face_margin"].present:',
        "    if False:",
        ("tests/stages/test_classification.py", "-k", "transfers"),
    ),
    Mutation(
        "aligned video crops ignore --face_margin",
        "affect_jax/inference/video_faces.py",
        "align.aligned_crop(gray, plan.eyes[k], margin=options.face_margin)",
        "align.aligned_crop(gray, plan.eyes[k])",
        ("tests/inference/test_face_margin.py",),
    ),
    Mutation(
        "aligned photo crops ignore --face_margin",
        "affect_jax/inference/predict_photos.py",
        "align.aligned_crop(gray, eyes, margin=self.options.face_margin)",
        "align.aligned_crop(gray, eyes)",
        ("tests/inference/test_face_margin.py",),
    ),
    Mutation(
        "NaN scalars reach TensorBoard",
        "affect_jax/training/metric_writer.py",
        "if math.isfinite(value)}",
        "}",
        ("tests/stages/test_shared_classes.py",),
    ),
)


def _copy_of_the_repo(into: Path) -> None:
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True
    ).stdout.split(b"\0")
    for name in filter(None, tracked):
        source = REPO / name.decode()
        if source.is_file():
            (into / name.decode()).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, into / name.decode())
    for extension in (REPO / "affect_jax/models/onednn").glob("_conv*.so"):
        shutil.copy2(extension, into / "affect_jax/models/onednn" / extension.name)


def _run(mutation: Mutation, python: str) -> tuple[str, str]:
    with tempfile.TemporaryDirectory(prefix="mutation_") as scratch:
        root = Path(scratch)
        _copy_of_the_repo(root)
        target = root / mutation.path
        text = target.read_text()
        if text.count(mutation.old) != 1:
            return "STALE", f"{mutation.path} holds the text {text.count(mutation.old)} times"
        target.write_text(text.replace(mutation.old, mutation.new))
        result = subprocess.run(
            [python, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *mutation.tests],
            cwd=root,
            capture_output=True,
            text=True,
        )
    failed = re.findall(r"^FAILED (\S+)", result.stdout, re.MULTILINE)
    if result.returncode == 1 and failed:
        return "CAUGHT", ", ".join(failed)
    if result.returncode == 0:
        return "MISSED", "every test passed"
    return "ERROR", result.stdout[-500:] + result.stderr[-500:]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", default="", help="Comma-separated parts of mutation names.")
    parser.add_argument("--python", default=sys.executable, help="Python with the test extras.")
    args = parser.parse_args()
    chosen = [
        m
        for m in MUTATIONS
        if not args.only or any(part in m.name for part in args.only.split(","))
    ]
    outcomes = []
    for number, mutation in enumerate(chosen, 1):
        start = time.monotonic()
        verdict, detail = _run(mutation, args.python)
        outcomes.append(verdict)
        print(
            f"{number:2d}. {verdict:6s} {mutation.name} ({mutation.path}; "
            f"{time.monotonic() - start:.0f} s)\n      {detail}",
            flush=True,
        )
    caught = outcomes.count("CAUGHT")
    print(f"{caught} of {len(outcomes)} mutations caught.")
    return 0 if caught == len(outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
