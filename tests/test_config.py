"""Config-file arguments and config validation."""

import pytest

from affect_jax.config import load_config, parse_arg


def test_parse_arg_flags_and_literals():
    args = parse_arg("tiny,steps=50,name=abc,rate=1e-3", tiny=False, steps=10, name="", rate=0.1)
    assert args.tiny is True and args.steps == 50
    assert args.name == "abc" and args.rate == pytest.approx(1e-3)


def test_parse_arg_unknown_key_names_valid_ones():
    with pytest.raises(ValueError, match="valid arguments: steps, tiny"):
        parse_arg("tny", tiny=False, steps=1)


def _flat(config, prefix: str = "") -> dict:
    flat = {}
    for key, value in config.items():
        if isinstance(value, dict):
            flat.update(_flat(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _schedule(steps: int, log: int, evaluate: int, checkpoint: int) -> dict:
    return {
        "num_train_steps": steps,
        "log_every_steps": log,
        "eval_every_steps": evaluate,
        "checkpoint_every_steps": checkpoint,
    }


# What each argument changes in its config, and nothing else: the arguments'
# documented effects (the config files' docstrings and comments), written out.
_TINY_CNN = {
    "augment.enabled": False,
    "model.conv_features": (8, 16, 16),
    "model.feature_dim": 32,
    "eval_batch_size": 64,
    "batch_size": 32,
}
_QUICKSTART_CNN = {"model.conv_features": (16, 32, 64), "batch_size": 64}
_TINY_RNN = {"rnn.window": 3, "model.layer_sizes": (16,), "batch_size": 32, "eval_batch_size": 64}
_EFFECTS = {
    ("affwild2_cnn", "quickstart"): {**_QUICKSTART_CNN, **_schedule(800, 50, 200, 200)},
    ("affwild2_cnn", "quickstart,paper"): {**_QUICKSTART_CNN, **_schedule(250, 50, 250, 200)},
    ("affwild2_cnn", "tiny,data_dir=/x"): {
        **_TINY_CNN,
        **_schedule(20, 5, 10, 5),
        "dataset.data_dir": "/x",
    },
    ("affwild2_cnn", "tiny,paper"): {
        **_TINY_CNN,
        **_schedule(60, 5, 30, 30),
        "balancing.rule": "flatten",
    },
    ("affwild2_cnn", "subset=1"): {"balancing.enabled": True, "balancing.k_max_mode": "max"},
    ("affwild2_cnn", "subset=2"): {"balancing.enabled": True, "balancing.k_max_mode": "mean"},
    # max_mean is the default mode: subset 3 only switches balancing on.
    ("affwild2_cnn", "subset=3"): {"balancing.enabled": True},
    ("affwild2_cnn", "target=valence"): {"targets": ("valence",)},
    ("affwild2_cnn", "loss=mse"): {"task": "va_mse", "loss": "va_mse"},
    ("affwild2_extract", "cnn_workdir=/x"): {"extract.cnn_workdir": "/x"},
    ("affwild2_extract", "tiny"): {"extract.batch_size": 32},
    ("affwild2_rnn", "cell=simple_rnn,layers=1"): {"model.cell": "simple_rnn"},
    ("affwild2_rnn", "cell=gru,layers=3,target=every"): {
        "model.layer_sizes": (100, 100, 50),
        "rnn.target": "every",
    },
    ("affwild2_rnn", "layers=3,tiny"): {
        **_TINY_RNN,
        "model.layer_sizes": (16, 16, 16),
        **_schedule(20, 5, 10, 5),
    },
    ("affwild2_rnn", "features_dir=/f"): {"rnn.features_dir": "/f"},
    ("affwild2_rnn", "quickstart"): {
        "rnn.window": 32,
        "batch_size": 64,
        "eval_batch_size": 256,
        **_schedule(600, 50, 200, 200),
    },
    ("affwild2_rnn", "tiny,paper"): {
        **_TINY_RNN,
        **_schedule(150, 5, 150, 150),
        "optimizer.learning_rate": 0.05,
    },
    ("affwild2_rnn", "layers=3,tiny,paper"): {
        **_TINY_RNN,
        "model.layer_sizes": (16, 16, 16),
        **_schedule(150, 5, 150, 150),
        "optimizer.learning_rate": 0.02,
    },
    ("ck_plus_cnn", "fold=3,balance=sampling"): {
        "dataset.name": "ck_plus/fold3_box",
        "class_balance": "sampling",
    },
    ("ck_plus_cnn", "tiny"): {
        **_TINY_CNN,
        "batch_size": 16,
        "eval_batch_size": 32,
        **_schedule(10, 5, 10, 5),
    },
}


@pytest.mark.parametrize("name,arg", list(_EFFECTS), ids=[f"{n}:{a}" for n, a in _EFFECTS])
def test_each_argument_changes_what_it_says_and_nothing_else(name, arg):
    default, config = _flat(load_config(name).to_dict()), _flat(load_config(name, arg).to_dict())
    assert set(config) == set(default)
    changed = {key: config[key] for key in config if config[key] != default[key]}
    assert changed == _EFFECTS[name, arg]
    if config["stage"] != "extract":
        assert config["batch_size"] > 0 and config["num_train_steps"] > 0
        assert config["eval_every_steps"] <= config["num_train_steps"]
