"""One process of the multi-process test: trains the tiny config, prints results.

python -m tests.helpers.distributed_train PROCESS_ID NUM_PROCESSES PORT DATA_DIR WORKDIR
"""

import json
import pathlib
import sys

import jax
from absl import flags

from affect_jax import runtime
from affect_jax.stages import train
from tests.helpers import train_helpers


def main() -> None:
    process_id, num_processes, port = (int(arg) for arg in sys.argv[1:4])
    data_dir, workdir = sys.argv[4:6]
    runtime.apply_fast_cpu_flags()
    if num_processes > 1:
        jax.distributed.initialize(
            coordinator_address=f"127.0.0.1:{port}",
            num_processes=num_processes,
            process_id=process_id,
        )
    flags.FLAGS.mark_as_parsed()
    # Dropout on (0.5): its masks fall on the same examples in either layout.
    config = train_helpers.tiny_config(
        data_dir, num_train_steps=6, eval_every_steps=6, checkpoint_every_steps=3
    )
    # Which run-folder files this process writes itself (results.json, plots):
    # only process 0 may, or two processes would race on the same files.
    written = []
    real_write_text = pathlib.Path.write_text

    def write_text(path, *args, **kwargs):
        written.append(path.name)
        return real_write_text(path, *args, **kwargs)

    pathlib.Path.write_text = write_text
    result = train.train_and_evaluate(config, workdir)
    print("RESULT " + json.dumps({"process": jax.process_index(), "wrote": written, **result}))


if __name__ == "__main__":
    main()
