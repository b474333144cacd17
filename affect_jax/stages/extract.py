"""The extract stage: a trained CNN turned into a per-frame feature store.

Restores a CNN checkpoint (the best by validation loss unless told otherwise)
with the config saved inside it, runs it over every frame of every split in
the dataset's order (the CNN's own, or `config.extract.dataset`, e.g. a VA CNN
over the `affwild2/multitask` records), and writes `<workdir>/features/<split>/`
with every label the records have (see feature_store.py). Writes in chunks
with progress; rerunning continues an interrupted extraction from its last
recorded row.
"""

import dataclasses
import json
import time
from pathlib import Path
from typing import Any

import grain
import jax
import ml_collections
import numpy as np
from absl import logging

from affect_jax.data import pipeline, provenance, sources
from affect_jax.data.feature_store import (
    COMPLETE_FILE,
    PROGRESS_FILE,
    FeatureStoreError,
    NpyRowWriter,
    label_fields,
    label_names,
    label_row,
    open_row_writers,
    write_json_atomically,
)
from affect_jax.faces import photometric as photometric_lib
from affect_jax.models.registry import FRAME_SHAPE
from affect_jax.runtime import ConfigError
from affect_jax.tasks import registry
from affect_jax.tasks.labels import VALENCE_AROUSAL
from affect_jax.training import checkpoints, run, sharding, steps
from affect_jax.training.progress import RateMeter

FEATURE_DTYPES = ("float16", "float32")
_SYNC_EVERY_S = 10.0


@dataclasses.dataclass(frozen=True)
class ExtractionRecord(grain.transforms.Map):
    """Record -> uint8 image plus the index fields and labels kept beside each feature.

    The image is normalised as the CNN's training normalised it (its config.input.photometric).
    """

    targets: tuple[str, ...]  # Label fields (feature_store.LABEL_FIELDS), flattened in order.
    photometric: str = photometric_lib.NONE

    def map(self, record: dict[str, Any]) -> dict[str, np.ndarray]:
        image = np.asarray(record["image"], np.uint8)
        return {
            "inputs": photometric_lib.normalise_face(image, self.photometric),
            "frame": np.asarray(record["frame"], np.int32),
            "labels": label_row(record, self.targets),
            "video": np.asarray(record["video"], object),
        }


def extract_split(
    state: Any,
    predict,
    source: Any,
    out_dir: Path,
    *,
    targets: tuple[str, ...],
    feature_dtype: str,
    batch_size: int,
    config: ml_collections.ConfigDict,
    mesh,
    metadata: dict,
    photometric: str = photometric_lib.NONE,
) -> None:
    """Writes (or finishes writing) the feature store of one split.

    `photometric`: the CNN's config.input.photometric, applied to every face.
    """
    if (out_dir / COMPLETE_FILE).exists():
        logging.info("Feature store %s is complete; skipping.", out_dir)
        return
    total = len(source)
    if total == 0:
        raise FeatureStoreError(f"The split behind {out_dir} has no frames to extract.")
    blank = {"inputs": np.zeros((batch_size, *FRAME_SHAPE), np.uint8)}
    sample = predict(state, sharding.to_global_batch(blank, mesh))
    feature_dim = sample["features"].shape[-1]
    num_outputs = sample["outputs"].shape[-1]
    num_labels = len(label_names(targets))
    out_dir.mkdir(parents=True, exist_ok=True)
    progress_path = out_dir / PROGRESS_FILE
    progress = {"rows_done": 0, "video_names": []}
    if progress_path.exists():
        progress = json.loads(progress_path.read_text())
        logging.info(
            "Resuming extraction of %s at row %d/%d", out_dir, progress["rows_done"], total
        )
    video_names: list[str] = progress["video_names"]
    video_index = {name: i for i, name in enumerate(video_names)}
    row = progress["rows_done"]
    batches = (
        grain.MapDataset.source(source)[row:]
        .map(ExtractionRecord(targets, photometric))
        .batch(batch_size, drop_remainder=False)
        .to_iter_dataset(
            grain.ReadOptions(
                num_threads=config.input.read_threads, prefetch_buffer_size=config.input.prefetch
            )
        )
    )
    meter, last_sync = RateMeter(total, row), time.monotonic()
    writers: dict[str, NpyRowWriter] = {}
    failed = False
    try:
        writers.update(
            open_row_writers(
                out_dir,
                {
                    "features": ((total, feature_dim), feature_dtype),
                    "cnn_outputs": ((total, num_outputs), np.float32),
                    "video_ids": ((total,), np.int32),
                    "frames": ((total,), np.int32),
                    "labels": ((total, num_labels), np.float32),
                },
            )
        )
        if row and any(writer.created for writer in writers.values()):
            raise FeatureStoreError(
                f"{out_dir} records {row} rows done, but some of its arrays are missing or "
                f"damaged. Delete {out_dir} and extract again."
            )
        for batch in batches:
            count = len(batch["inputs"])
            padded = pipeline.pad_batch({"inputs": batch["inputs"]}, batch_size)
            result = jax.device_get(
                predict(state, sharding.to_global_batch({"inputs": padded["inputs"]}, mesh))
            )
            outputs, features = result["outputs"], result["features"]
            names = [n.decode() if isinstance(n, bytes) else str(n) for n in batch["video"]]
            for name in names:
                if name not in video_index:
                    video_index[name] = len(video_names)
                    video_names.append(name)
            ids = [video_index[name] for name in names]
            writers["features"].write(row, features[:count])
            writers["cnn_outputs"].write(row, outputs[:count])
            writers["video_ids"].write(row, np.asarray(ids, np.int32))
            writers["frames"].write(row, batch["frame"])
            writers["labels"].write(row, batch["labels"])
            row += count
            meter.update(count)
            if time.monotonic() - last_sync > _SYNC_EVERY_S or row == total:
                for writer in writers.values():
                    writer.sync()
                write_json_atomically(progress_path, {"rows_done": row, "video_names": video_names})
                rate, eta = meter.report()
                logging.info(
                    "extract %s: %d/%d frames, %.0f frames/s, ETA %s",
                    out_dir.name,
                    row,
                    total,
                    rate,
                    eta,
                )
                last_sync = time.monotonic()
    except OSError as error:
        failed = True
        raise FeatureStoreError(
            f"Writing the feature store in {out_dir} failed at row {row}: {error}. Free space "
            "or fix permissions, then rerun: extraction resumes from the last synced row."
        ) from error
    finally:
        for writer in writers.values():
            try:
                writer.close()
            except OSError:
                # A full disk fails the close too (its rows still buffered):
                # the error named above is the one to see.
                if not failed:
                    raise
    write_json_atomically(
        out_dir / COMPLETE_FILE,
        {
            **metadata,
            "frames": total,
            "feature_dim": int(feature_dim),
            "feature_dtype": feature_dtype,
            "label_names": label_names(targets),
            "video_names": video_names,
        },
    )


def check_extractable(cnn_config: ml_collections.ConfigDict, checkpoint_path: str) -> None:
    """Raises ValueError unless the CNN predicts valence and/or arousal (a VA or multitask CNN).

    Its features must carry affect: a VA CNN's, or a multitask CNN's, whose
    outputs also give the RNN of every task its single-frame baseline.
    """
    targets = tuple(cnn_config.get("targets", ()))
    if set(registry.output_names(cnn_config)) & set(VALENCE_AROUSAL):
        return
    raise ConfigError(
        f"{checkpoint_path} is a {registry.task_name(cnn_config)!r}-task CNN on "
        f"{cnn_config.dataset.name} "
        f"(targets {targets or '-'}): the extract and RNN stages serve valence-arousal CNNs "
        "(configs/affwild2_cnn.py) and multitask CNNs (configs/affwild2_multitask.py). "
        "Point --config.extract.cnn_workdir at such a run."
    )


def extract(config: ml_collections.ConfigDict, workdir: str) -> dict[str, str]:
    """Runs the extract stage; returns the feature store folder of each split."""
    if jax.process_count() > 1:
        raise RuntimeError("Run the extract stage on one host: it writes one local store.")
    if config.extract.feature_dtype not in FEATURE_DTYPES:
        raise ConfigError(
            f"Unknown config.extract.feature_dtype "
            f"{config.extract.feature_dtype!r}; valid: {', '.join(FEATURE_DTYPES)}."
        )
    mesh = sharding.make_data_mesh()
    try:
        state, cnn_config, checkpoint_path = run.restore_cnn(
            config.extract.cnn_workdir, config.extract.checkpoint, mesh
        )
    except checkpoints.NotACheckpointError as error:
        raise checkpoints.NotACheckpointError(
            f"config.extract.cnn_workdir: {error} Set it to the --workdir of a finished "
            "train_cnn run."
        ) from error
    check_extractable(cnn_config, checkpoint_path)
    data_dir = config.dataset.data_dir or cnn_config.dataset.data_dir
    predict = steps.make_predict_step(mesh, return_features=True)
    batch_size = sharding.per_process_batch_size(config.extract.batch_size, "extract.batch_size")
    # Older extract configs lack the key: the CNN's own dataset.
    dataset = config.extract.get("dataset", "") or cnn_config.dataset.name
    # Where the faces came from: the RNN trained on the stores records it.
    training_data = provenance.training_data(
        dataset, sources.open_builder(dataset, data_dir).data_dir
    )
    stores = {}
    for split in config.extract.splits:
        source = sources.open_split(dataset, data_dir, split)
        out_dir = run.RunFolder(workdir).features / split
        extract_split(
            state,
            predict,
            source,
            out_dir,
            targets=label_fields(source[0]) if len(source) else (),
            feature_dtype=config.extract.feature_dtype,
            batch_size=batch_size,
            config=config,
            mesh=mesh,
            photometric=photometric_lib.configured_method(cnn_config),
            metadata={
                "checkpoint": checkpoint_path,
                "dataset": dataset,
                "split": split,
                "cnn_model": cnn_config.model.to_dict(),
                # What each cnn_outputs.npy column is (registry.output_names).
                "cnn_output_names": list(registry.output_names(cnn_config)),
                provenance.TRAINING_DATA_KEY: training_data,
            },
        )
        stores[split] = str(out_dir)
    return stores
