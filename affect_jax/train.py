"""The generic training loop: data -> jit step -> metrics -> checkpoints.

Resumes from the workdir's latest checkpoint by default, evaluates on the
whole validation split, keeps the best checkpoint by validation loss, and
stops with a clear error on a non-finite loss.
"""

import json
from pathlib import Path
from typing import Any

import jax
import ml_collections
import numpy as np
from absl import logging

from affect_jax import (
    checkpoints,
    evaluate,
    multitask_plots,
    plots,
    sharding,
    steps,
    video_evaluation,
)
from affect_jax.data import pipeline, sources, stage_inputs
from affect_jax.data.stage_inputs import StageInputs
from affect_jax.feature_store import FeatureStore
from affect_jax.metric_writer import MetricWriter, read_metrics
from affect_jax.models.registry import create_model
from affect_jax.progress import RateMeter


class NonFiniteLossError(FloatingPointError):
    """The loss became NaN or infinite; training stopped."""


def _check_finite(loss: float, step: int, batch: dict[str, np.ndarray], workdir: str) -> None:
    if np.isfinite(loss):
        return
    ids_name = "frame" if "frame" in batch else "row"  # Frames, or feature-store rows.
    raise NonFiniteLossError(
        f"Loss is {loss} at step {step} (batch {ids_name} {batch[ids_name][:8]}...). "
        f"The last good checkpoint in {workdir}/checkpoints is kept. Lower "
        "config.optimizer.learning_rate, or check the data for NaN labels."
    )


def run_validation(
    state: Any, eval_step, inputs: StageInputs, config: ml_collections.ConfigDict, mesh
) -> tuple[dict, dict]:
    predictions = evaluate.predict_split(
        state, eval_step, inputs.evaluation, inputs.transform, config, mesh
    )
    return evaluate.split_metrics(predictions, config), predictions


def _write_outputs(
    workdir: Path,
    config: ml_collections.ConfigDict,
    result: dict[str, float],
    predictions: dict,
) -> None:
    """Results JSON and PNGs, by process 0 only."""
    if jax.process_index() != 0:
        return
    # NaN (e.g. recall of a class absent from the split) is not JSON: null.
    finite = {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in result.items()}
    (workdir / "results.json").write_text(json.dumps(finite, indent=2) + "\n")
    plots_dir = workdir / "plots"
    plots_dir.mkdir(exist_ok=True)
    plots.training_curves(read_metrics(str(workdir)), plots_dir / "training_curves.png")
    if config.loss == "cross_entropy":
        plots.confusion_matrices(
            predictions["label"],
            predictions["outputs"].argmax(-1),
            config.num_classes,
            plots_dir / "confusion_validation.png",
            title=config.dataset.eval_split,
            class_names=tuple(config.get("class_names", ())),
        )
    elif config.loss == "binary_cross_entropy":
        scores = {
            name: result[f"f1_{name}"] for name in config.class_names if f"f1_{name}" in result
        }
        plots.label_scores(scores, plots_dir / "f1_validation.png", config.dataset.eval_split)
    elif config.loss == "multitask":
        multitask_plots.write(predictions, result, config, plots_dir)
    else:
        width = predictions["outputs"].shape[-1]
        plots.prediction_scatter(
            predictions["outputs"].reshape(-1, width),
            predictions["targets"].reshape(-1, width),
            tuple(config.targets),
            plots_dir / "validation_scatter.png",
        )


def _per_video_evaluation(
    config: ml_collections.ConfigDict, workdir: Path, predictions: dict
) -> dict[str, float]:
    """Every validation frame predicted (gaps interpolated), the CNN alone beside it,
    and the challenge-format prediction files."""
    store = FeatureStore(Path(config.rnn.features_dir) / config.dataset.eval_split)
    outputs = predictions["outputs"]
    if outputs.ndim == 3:  # `every` target: a window's last output is causal.
        outputs = outputs[:, -1]
    frames, interpolated = video_evaluation.frame_predictions(
        store, predictions["row"].astype(np.int64), outputs
    )
    names = tuple(config.targets)
    result = video_evaluation.compare_with_cnn(store, frames, names)
    result["frames_interpolated"] = float(interpolated.mean())
    if jax.process_index() == 0:
        count = video_evaluation.write_challenge_files(
            store, frames, names, workdir / "predictions"
        )
        video_evaluation.plot_timelines(store, frames, names, workdir / "plots" / "timelines.png")
        logging.info("Wrote %d prediction files to %s/predictions", count, workdir)
    return result


def _cross_dataset_evaluation(
    state: Any,
    eval_step,
    inputs: StageInputs,
    config: ml_collections.ConfigDict,
    mesh,
    workdir: Path,
) -> dict[str, float]:
    """The final model on another dataset's split (CK+ -> JAFFE), `<name>_` keys."""
    other = config.cross_dataset
    source = sources.open_split(other.name, other.data_dir or config.dataset.data_dir, other.split)
    predictions = evaluate.predict_split(state, eval_step, source, inputs.transform, config, mesh)
    prefix = other.name.split("/")[0]
    result = evaluate.split_metrics(predictions, config)
    if jax.process_index() == 0:
        plots.confusion_matrices(
            predictions["label"],
            predictions["outputs"].argmax(-1),
            config.num_classes,
            workdir / "plots" / f"confusion_{prefix}.png",
            title=f"{other.name} {other.split}",
            class_names=tuple(config.get("class_names", ())),
        )
    return {f"{prefix}_{key}": value for key, value in result.items()}


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str) -> dict[str, float]:
    """Trains `config` in `workdir` (resuming if it has a checkpoint).

    Returns:
      The validation metrics of the final step (whole-set CCC / RMSE or accuracy).
    """
    workdir_path = Path(workdir)
    workdir_path.mkdir(parents=True, exist_ok=True)
    if config.dataset.get("data_dir"):
        # Absolute, so the config saved in checkpoints works from any folder.
        config.dataset.data_dir = str(Path(config.dataset.data_dir).resolve())
    mesh = sharding.make_data_mesh()
    logging.info(
        "Devices: %d (%d per process), processes: %d",
        jax.device_count(),
        jax.local_device_count(),
        jax.process_count(),
    )
    inputs = stage_inputs.for_stage(config, workdir)
    logging.info(
        "Examples: %d train, %d %s",
        len(inputs.train),
        len(inputs.evaluation),
        config.dataset.eval_split,
    )
    sample = jax.ShapeDtypeStruct((1, *inputs.sample_inputs.shape), inputs.sample_inputs.dtype)
    state = steps.create_train_state(create_model(config), config, mesh, sample)
    train_iter = pipeline.training_iterator(
        inputs.train,
        inputs.transform,
        config,
        sharding.per_process_batch_size(config.batch_size),
        augment=inputs.augment,
    )
    manager = checkpoints.make_manager(workdir, config.checkpoint.keep)
    start_step = manager.latest_step() or 0
    if start_step:
        logging.info("Resuming from %s/checkpoints/%d", workdir, start_step)
        state = checkpoints.restore(
            manager, start_step, checkpoints.abstract(state), train_iter, config
        )

    train_step = steps.make_train_step(config, mesh, inputs.class_weights)
    eval_step = evaluate.make_eval_step(mesh)
    writer = MetricWriter(workdir, resume_step=start_step)
    meter = RateMeter(config.num_train_steps, start_step)
    train_losses: list[float] = []
    result, predictions = None, None
    for step in range(start_step + 1, config.num_train_steps + 1):
        local_batch = next(train_iter)
        state, step_metrics = train_step(state, sharding.to_global_batch(local_batch, mesh))
        loss = float(step_metrics["loss"])
        _check_finite(loss, step, local_batch, workdir)
        train_losses.append(loss)
        meter.update()
        if step % config.log_every_steps == 0 or step == config.num_train_steps:
            steps_per_second, eta = meter.report()
            frames_per_second = steps_per_second * config.batch_size
            writer.write(
                step,
                {
                    "loss": float(np.mean(train_losses)),
                    "frames_per_second": frames_per_second,
                },
                "train",
            )
            logging.info(
                "step %d/%d  train loss %.4f  %.1f frames/s  ETA %s",
                step,
                config.num_train_steps,
                np.mean(train_losses),
                frames_per_second,
                eta,
            )
            train_losses = []
        is_last = step == config.num_train_steps
        if step % config.eval_every_steps == 0 or is_last:
            result, predictions = run_validation(state, eval_step, inputs, config, mesh)
            writer.write(step, result, "validation")
            logging.info(
                "step %d validation: %s",
                step,
                ", ".join(f"{k} {v:.4f}" for k, v in result.items()),
            )
            checkpoints.save(
                manager,
                step,
                state,
                train_iter,
                config,
                metrics={"val_loss": result["loss"]},
            )
        elif step % config.checkpoint_every_steps == 0:
            checkpoints.save(manager, step, state, train_iter, config)
    checkpoints.wait_until_written(manager)

    if result is None:  # Rerun of a finished run: evaluate what was restored.
        result, predictions = run_validation(state, eval_step, inputs, config, mesh)
    result = {"step": int(state.step), "best_step": manager.best_step(), **result}
    if config.stage == "train_rnn":
        result.update(_per_video_evaluation(config, workdir_path, predictions))
    if config.get("cross_dataset") and config.cross_dataset.name:
        result.update(
            _cross_dataset_evaluation(state, eval_step, inputs, config, mesh, workdir_path)
        )
    _write_outputs(workdir_path, config, result, predictions)
    writer.close()
    manager.close()
    return result
