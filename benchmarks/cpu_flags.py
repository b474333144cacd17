r"""The CNN train step under each XLA:CPU YNNPACK setting, as ratios to XLA's default.

    python benchmarks/cpu_flags.py [--steps=5]

XLA reads XLA_FLAGS once per process, so each setting runs the project's CNN
train step (batch 128, first block "fused" and "plain") in its own subprocess
of this script; the ratios are against the first setting, jaxlib's default.
"""

import json
import os
import subprocess
import sys

from absl import app, flags

_STEPS = flags.DEFINE_integer("steps", 5, "Timed steps per measurement (median).")
_CHILD = flags.DEFINE_bool("child", False, "Internal: measure in this process and print JSON.")

SETTINGS = {
    "jaxlib default (YNNPACK on)": "",
    "YNNPACK off for single convolutions and dots": (
        "--xla_cpu_experimental_ynn_fusion_type=-individual_convolution,-individual_dot"
    ),
    "YNNPACK off (the project's flag)": "--xla_cpu_experimental_ynn_fusion_type=",
}


def measure(count: int) -> dict:
    import numpy as np
    from timing import project_train_rate

    from affect_jax.config import load_config
    from affect_jax.models.cnn import FrameCNN
    from affect_jax.models.registry import FRAME_SHAPE

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (128, *FRAME_SHAPE), dtype=np.uint8)
    targets = rng.uniform(-1, 1, (128, 2)).astype(np.float32)
    config = load_config("affwild2_cnn")
    return {
        block: project_train_rate(FrameCNN(first_block=block), config, images, targets, count)[0]
        for block in ("fused", "plain")
    }


def main(argv) -> None:
    del argv
    if _CHILD.value:
        print("RATES " + json.dumps(measure(_STEPS.value)))
        return
    baseline = None
    for name, flag in SETTINGS.items():
        env = dict(os.environ, XLA_FLAGS=flag)
        command = [sys.executable, __file__, "--child", f"--steps={_STEPS.value}"]
        output = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
        line = next(x for x in output.stdout.splitlines() if x.startswith("RATES "))
        rates = json.loads(line[len("RATES ") :])
        baseline = baseline or rates
        ratios = {block: rates[block] / baseline[block] for block in rates}
        print(
            f"{name:46s} fused {rates['fused']:5.1f} frames/s ({ratios['fused']:.2f}x)  "
            f"plain {rates['plain']:5.1f} frames/s ({ratios['plain']:.2f}x)",
            flush=True,
        )


if __name__ == "__main__":
    app.run(main)
