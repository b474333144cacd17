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


@pytest.mark.parametrize(
    "name,arg",
    [
        ("affwild2_cnn", None),
        ("affwild2_cnn", "quickstart"),
        ("affwild2_cnn", "tiny,data_dir=/x"),
        ("affwild2_cnn", "subset=3"),
        ("affwild2_extract", "cnn_workdir=/x"),
        ("affwild2_rnn", "cell=simple_rnn,layers=1"),
        ("affwild2_rnn", "cell=gru,layers=3,target=every"),
        ("affwild2_rnn", "quickstart"),
        ("ck_plus_cnn", "fold=3,balance=sampling"),
        ("ck_plus_cnn", "tiny"),
    ],
)
def test_every_config_variant_loads(name, arg):
    config = load_config(name, arg)
    assert config.stage in ("train_cnn", "extract", "train_rnn")
    if config.stage != "extract":
        assert config.batch_size > 0 and config.num_train_steps > 0
        assert config.eval_every_steps <= config.num_train_steps
    if arg and "data_dir=/x" in arg:
        assert config.dataset.data_dir == "/x"
    if arg and "subset=3" in arg:
        assert config.balancing.enabled and config.balancing.k_max_mode == "max_mean"
    if name == "ck_plus_cnn" and "fold=3" in arg:
        assert config.dataset.name == "ck_plus/fold3" and config.class_balance == "sampling"
