"""The generic training loop: data -> jit step -> metrics -> checkpoints.

Resumes from the workdir's latest checkpoint by default (a fresh workdir
starts from `config.init_from`'s parameters when set), evaluates on the whole
validation split, keeps the best checkpoint by validation loss, and stops with
a clear error on a non-finite loss.
"""

from pathlib import Path

import jax
import ml_collections
import numpy as np
from absl import logging

from affect_jax import stages
from affect_jax.data import pipeline, provenance
from affect_jax.models.registry import create_model, input_spec
from affect_jax.runtime import ProjectError
from affect_jax.stages import evaluate, evaluators, inputs, outputs
from affect_jax.tasks import registry
from affect_jax.training import checkpoints, init_from, resume, run, sharding, steps
from affect_jax.training.metric_writer import MetricWriter
from affect_jax.training.progress import RateMeter


class NonFiniteLossError(ProjectError, FloatingPointError):
    """The loss became NaN or infinite; training stopped."""


def _check_finite(loss: float, step: int, batch: dict[str, np.ndarray], workdir: str) -> None:
    if np.isfinite(loss):
        return
    ids_name = "frame" if "frame" in batch else "row"  # Frames, or feature-store rows.
    raise NonFiniteLossError(
        f"Loss is {loss} at step {step} (batch {ids_name} {batch[ids_name][:8]}...). "
        f"The last good checkpoint in {run.RunFolder(workdir).checkpoints} is kept. Lower "
        "config.optimizer.learning_rate, or check the data for NaN labels."
    )


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
    task = registry.get_task(config)  # The one lookup: passed down from here.
    evaluator_names = evaluators.names_for(config, stages.stage_of(config).evaluators)
    stage_inputs = inputs.for_stage(config, task, workdir)
    if stage_inputs.feature_store_info and jax.process_index() == 0:
        # In the run itself, so that it finds its CNN wherever it is moved.
        run.record_cnn_of_rnn(workdir, stage_inputs.feature_store_info)
    logging.info(
        "Examples: %d train, %d %s",
        len(stage_inputs.train),
        len(stage_inputs.evaluation),
        config.dataset.eval_split,
    )
    sample = input_spec(config, feature_dim=stage_inputs.feature_dim)
    state = steps.create_train_state(create_model(config), config, mesh, sample)
    train_iter = pipeline.training_iterator(
        stage_inputs.train,
        stage_inputs.transform,
        config,
        sharding.per_process_batch_size(config.batch_size),
        augment=stage_inputs.augment,
    )
    folder = run.RunFolder(workdir)
    manager = checkpoints.make_manager(folder.checkpoints, config.checkpoint.keep)
    init_from.refuse_imported_workdir(manager.latest_step(), workdir)
    # The newest step that restores whole; damaged newer ones are moved aside.
    start_step, restored = resume.restore_newest_intact(
        manager, checkpoints.abstract(state), train_iter, config
    )
    if start_step:
        logging.info("Resuming from %s", folder.step_dir(start_step))
        state = restored
    elif config.get("init_from"):  # Configs older than the key have none.
        state = init_from.initialize_from(
            state, config.init_from, config, mesh, stage_inputs.feature_dim
        )

    train_step = steps.make_train_step(config, task, mesh, stage_inputs.class_weights)
    predict_step = steps.make_predict_step(mesh)
    writer = MetricWriter(workdir, resume_step=start_step)
    try:
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
                result, predictions = evaluate.run_validation(
                    state, predict_step, stage_inputs, config, task, mesh
                )
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
            result, predictions = evaluate.run_validation(
                state, predict_step, stage_inputs, config, task, mesh
            )
        result = {"step": int(state.step), "best_step": manager.best_step(), **result}
        result[provenance.TRAINING_DATA_KEY] = stage_inputs.training_data
        finished = evaluators.Finished(
            state, predict_step, stage_inputs, config, task, mesh, workdir_path, predictions
        )
        evaluation, predictions = evaluators.run_all(finished, evaluator_names)
        result.update(evaluation)
        outputs.write_outputs(workdir_path, config, task, result, predictions)
    finally:  # Also on a crash: its event-file thread must not outlive the interpreter.
        writer.close()
    manager.close()
    return result
