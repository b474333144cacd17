r"""Reruns every experiment of the paper, in dependency order, and writes REPORT.md.

    bash launch/reproduce_paper.sh --workdir_root=runs/paper \
        [--affwild2_raw=DIR --ck_plus_raw=DIR --jaffe_raw=DIR] [--preset=synthetic]

A dataset with no raw folder given uses the embedded default (synthetic faces
in the same raw layout). Finished experiments are skipped and unfinished ones
resume from their checkpoints, so rerunning after an interruption continues.
Presets: `full` (each config's own settings: real data), `synthetic` (small
models and schedules for the embedded default), `tiny` (seconds; tests).
"""

import dataclasses
from collections.abc import Callable
from pathlib import Path

import ml_collections
from absl import logging

from affect_jax import stages
from affect_jax.config import load_config
from affect_jax.data import building
from affect_jax.data.feature_store import COMPLETE_FILE
from affect_jax.paper import report
from affect_jax.synthetic import affwild2_layout, ck_plus_layout, jaffe_layout
from affect_jax.training.run import RunFolder

PRESETS = ("full", "synthetic", "tiny")
_WRITERS: dict[str, tuple[Callable, dict]] = {
    "affwild2": (affwild2_layout.write_affwild2_layout, affwild2_layout.PRESETS),
    "ck_plus": (ck_plus_layout.write_ck_plus_layout, ck_plus_layout.PRESETS),
    "jaffe": (jaffe_layout.write_jaffe_layout, jaffe_layout.PRESETS),
}
_COMPLETE = ".reproduce_complete"


@dataclasses.dataclass(frozen=True)
class Experiment:
    """One run: a config file with its argument, and where it sits in the report."""

    name: str
    config: str
    arg: str = ""
    after: str = ""  # An experiment whose output this one reads.


def experiments() -> list[Experiment]:
    """Every run behind the paper's Tables I and III, in dependency order."""
    return [
        Experiment("ck_plus", "ck_plus_cnn", "fold=0"),
        Experiment("ck_plus_balanced", "ck_plus_cnn", "fold=0,balance=loss_weights"),
        # Beyond the paper: the faces aligned by the eyes on both sides.
        Experiment("ck_plus_aligned", "ck_plus_cnn", "fold=0,framing=aligned"),
        Experiment("cnn_whole", "affwild2_cnn"),
        Experiment("cnn_subset1", "affwild2_cnn", "subset=1"),
        Experiment("cnn_subset2", "affwild2_cnn", "subset=2"),
        Experiment("cnn_subset3", "affwild2_cnn", "subset=3"),
        Experiment("cnn_valence_only", "affwild2_cnn", "target=valence"),
        Experiment("cnn_arousal_only", "affwild2_cnn", "target=arousal"),
        Experiment("cnn_mse", "affwild2_cnn", "loss=mse"),
        Experiment("features", "affwild2_extract", after="cnn_whole"),
        Experiment("simple_rnn_1", "affwild2_rnn", "cell=simple_rnn,layers=1", "features"),
        Experiment("gru_1", "affwild2_rnn", "cell=gru,layers=1", "features"),
        Experiment("gru_3", "affwild2_rnn", "cell=gru,layers=3", "features"),
    ]


def _preset_arg(experiment: Experiment, preset: str) -> str:
    """The config argument: the experiment's own, plus its size for `preset`.

    `paper` asks each config for the schedule the reproduction gives that size
    (the configs say what it changes).
    """
    if experiment.config == "affwild2_extract":
        extra = "tiny" if preset == "tiny" else ""
    else:
        extra = {"full": "", "synthetic": "quickstart,paper", "tiny": "tiny,paper"}[preset]
    return ",".join(part for part in (experiment.arg, extra) if part)


def make_config(
    experiment: Experiment, preset: str, data_dir: str, root: Path
) -> ml_collections.ConfigDict:
    config = load_config(experiment.config, _preset_arg(experiment, preset))
    if experiment.config == "affwild2_extract":
        config.extract.cnn_workdir = str(root / experiment.after)
    elif experiment.config == "affwild2_rnn":
        config.rnn.features_dir = str(RunFolder(root / experiment.after).features)
    else:
        config.dataset.data_dir = data_dir
    return config


def prepare_datasets(raw_dirs: dict[str, str], data_dir: str, root: Path, preset: str) -> None:
    """Writes synthetic raw layouts where no raw folder is given, then builds."""
    size = "tiny" if preset == "tiny" else "quickstart"
    builds = {
        "affwild2": ["affwild2/va"],
        "ck_plus": ["ck_plus/fold0_box", "ck_plus/fold0"],
        "jaffe": ["jaffe/all_box", "jaffe/all"],
    }
    for dataset, names in builds.items():
        raw = raw_dirs.get(dataset)
        if not raw:
            raw_path = root / "raw" / dataset
            if not (raw_path / _COMPLETE).exists():
                writer, presets = _WRITERS[dataset]
                logging.info("Writing the synthetic %s layout to %s", dataset, raw_path)
                writer(raw_path, seed=0, **presets[size])
                (raw_path / _COMPLETE).touch()
            raw = str(raw_path)
        for name in names:
            building.build_dataset(name, raw, data_dir)


def _finished(workdir: Path, config: ml_collections.ConfigDict) -> bool:
    if not stages.STAGES[config.stage].trains:  # The extract stage: its stores.
        return all(
            (RunFolder(workdir).features / split / COMPLETE_FILE).exists()
            for split in config.extract.splits
        )
    results = RunFolder(workdir).read_results()
    return bool(results) and results["step"] >= config.num_train_steps


def run_all(root: Path, preset: str, raw_dirs: dict[str, str], data_dir: str = "") -> Path:
    """Builds what is missing, runs every experiment not yet finished, writes REPORT.md."""
    if preset not in PRESETS:
        raise ValueError(f"Unknown preset {preset!r}; valid: {', '.join(PRESETS)}.")
    root.mkdir(parents=True, exist_ok=True)
    data_dir = str(Path(data_dir or root / "tfds").resolve())
    prepare_datasets(raw_dirs, data_dir, root, preset)
    for experiment in experiments():
        workdir = root / experiment.name
        config = make_config(experiment, preset, data_dir, root)
        if _finished(workdir, config):
            logging.info("%s: finished earlier, skipped.", experiment.name)
            continue
        logging.info("%s: running %s:%s", experiment.name, experiment.config, experiment.arg)
        stages.run(config, str(workdir))
    return report.write_report(root, [e.name for e in experiments()])
