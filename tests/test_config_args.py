"""Config-file arguments and config validation."""

import pytest

from affect_jax.config_args import load_config, parse_arg


def test_parse_arg_flags_and_literals():
    args = parse_arg("tiny,steps=50,name=abc,rate=1e-3", tiny=False, steps=10, name="", rate=0.1)
    assert args.tiny is True and args.steps == 50
    assert args.name == "abc" and args.rate == pytest.approx(1e-3)


def test_parse_arg_unknown_key_names_valid_ones():
    with pytest.raises(ValueError, match="valid arguments: steps, tiny"):
        parse_arg("tny", tiny=False, steps=1)


@pytest.mark.parametrize("arg", [None, "quickstart", "tiny", "tiny,data_dir=/x"])
def test_every_config_variant_loads(arg):
    config = load_config("affwild2_cnn", arg)
    assert config.stage == "train_cnn"
    assert config.batch_size > 0 and config.num_train_steps > 0
    if arg and "data_dir" in arg:
        assert config.dataset.data_dir == "/x"
