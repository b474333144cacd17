"""One process of the multi-process test: trains the tiny config, prints results.

python -m tests.helpers.distributed_train PROCESS_ID NUM_PROCESSES PORT DATA_DIR WORKDIR
"""

import json
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
    result = train.train_and_evaluate(config, workdir)
    print("RESULT " + json.dumps({"process": jax.process_index(), **result}))


if __name__ == "__main__":
    main()
