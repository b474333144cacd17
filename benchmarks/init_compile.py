r"""Compile time of a run's initialisation (training/steps.py), XLA's default against level 0.

    python benchmarks/init_compile.py

For each model: the seconds XLA:CPU takes to compile the train state's
initialisation with its default backend optimisation and with
`xla_backend_optimization_level=0` (what create_train_state asks for on the
CPU), their ratio, and the largest difference between the two sets of initial
parameters. Each is compiled once, in this process, with no persistent cache.
"""

import sys
import time

import jax
import numpy as np
from absl import app
from check_report import cpu_line

from affect_jax import runtime
from affect_jax.config import load_config
from affect_jax.models.registry import create_model, input_spec
from affect_jax.training import sharding, steps

MODELS = {
    "tiny CNN (affwild2_cnn:tiny)": ("affwild2_cnn", "tiny"),
    "paper CNN (affwild2_cnn)": ("affwild2_cnn", ""),
    "3-layer GRU (affwild2_rnn:layers=3)": ("affwild2_rnn", "layers=3"),
}
FEATURE_DIM = 300  # The paper CNN's feature width: the GRU's input.


def _compiled_init(name: str, arg: str, options: dict | None):
    """(seconds to compile, the initial parameters) of `name`'s train state."""
    config = load_config(name, arg)
    model, mesh = create_model(config), sharding.make_data_mesh()
    sample = input_spec(config, FEATURE_DIM)

    initial_state = steps.initial_state_function(model, config, sample)
    # As create_train_state compiles it, but for the options.
    lowered = jax.jit(initial_state, out_shardings=sharding.replicated(mesh)).lower()
    start = time.perf_counter()
    compiled = lowered.compile(compiler_options=options)
    seconds = time.perf_counter() - start
    return seconds, jax.device_get(compiled().params)


def main(argv):
    del argv
    runtime.apply_fast_cpu_flags()
    print(f"{cpu_line()}; jax {jax.__version__}, backend {jax.default_backend()}")
    print("| model | default (s) | level 0 (s) | ratio | largest parameter difference |")
    print("|---|---|---|---|---|")
    for label, (name, arg) in MODELS.items():
        default_s, default_params = _compiled_init(name, arg, None)
        level0_s, level0_params = _compiled_init(name, arg, {"xla_backend_optimization_level": 0})
        difference = max(
            float(np.abs(np.asarray(a) - np.asarray(b)).max())
            for a, b in zip(
                jax.tree.leaves(default_params), jax.tree.leaves(level0_params), strict=True
            )
        )
        ratio = default_s / level0_s
        print(f"| {label} | {default_s:.2f} | {level0_s:.2f} | {ratio:.1f}x | {difference:.1e} |")
        sys.stdout.flush()


if __name__ == "__main__":
    app.run(main)
