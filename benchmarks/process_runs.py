"""Contenders that each live in their own Python process, stepped in turns from the benchmark.

A process's C allocator is set when it starts (glibc reads GLIBC_TUNABLES at
exec) and is shared by everything loaded in it: a framework in the
benchmark's own process runs under whatever the others need, and one
library's habits reach the rest (protobuf calls malloc_trim whenever a
message is freed, which hands every free page of the heap back to the kernel,
the next step's buffers included). So each framework can run in a child
process with its own environment, as its users run it, and still be timed in
the same rounds as the others: `process_runs` returns calls for
`timing.interleaved_seconds` that each step one contender in its child and
wait for it.

The child side is this file run as a script: it builds the contenders with
`module:function(**kwargs)` (a dict of name -> call, benchmarks/ on the path),
then answers one name per line of its standard input with one call of it.
"""

import importlib
import json
import os
import subprocess
import sys

_BENCHMARKS = os.path.dirname(os.path.abspath(__file__))


def process_runs(builder: str, kwargs: dict, env: dict | None = None) -> dict:
    """{name: call} for the contenders `builder(**kwargs)` makes in a child process.

    Args:
      builder: "module:function" in benchmarks/ returning {name: call of one step}.
      kwargs: JSON-serialisable arguments of the builder.
      env: variables set in the child's environment (on top of this process's).
    """
    child_env = {**os.environ, **(env or {})}
    child = subprocess.Popen(
        [sys.executable, os.path.abspath(__file__), builder, json.dumps(kwargs)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=child_env,
        text=True,
        cwd=os.getcwd(),
    )
    ready = child.stdout.readline()
    if not ready:
        raise RuntimeError(
            f"the child process for {builder} exited before its contenders were built"
        )
    names = json.loads(ready)["ready"]

    def step_in_child(name):
        def run():
            child.stdin.write(name + "\n")
            child.stdin.flush()
            reply = child.stdout.readline().strip()
            if reply != "done":
                raise RuntimeError(f"{builder} child, contender {name!r}: {reply or 'exited'}")

        return run

    return {name: step_in_child(name) for name in names}


def _serve(builder: str, kwargs_json: str) -> None:
    """Child side: build the contenders, then run one step per name read from stdin."""
    # The replies own the real stdout; whatever the frameworks print (Python or C,
    # while building or stepping) goes to stderr.
    replies = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    sys.path.insert(0, _BENCHMARKS)
    module_name, function_name = builder.split(":")
    runs = getattr(importlib.import_module(module_name), function_name)(**json.loads(kwargs_json))
    print(json.dumps({"ready": list(runs)}), file=replies, flush=True)
    for line in sys.stdin:
        name = line.strip()
        try:
            runs[name]()
            print("done", file=replies, flush=True)
        except Exception as error:  # Reported to the parent, which raises it.
            print(f"{type(error).__name__}: {error}".replace("\n", " "), file=replies, flush=True)


if __name__ == "__main__":
    _serve(sys.argv[1], sys.argv[2])
