r"""Exported (ONNX Runtime) prediction against the JAX predict path, on this CPU.

    python benchmarks/export.py [--model=reference|quickstart] [--repeats=20]

With freshly initialized weights of the `--model` CNN + GRU configs (speed does
not depend on the weight values), times in one process:
  1. the CNN per face at batch 1 and batch 64: `VideoModel.submit`/`collect`
     (JAX, what predict runs) against the exported cnn.onnx in onnxruntime,
     float32 and float16;
  2. one RNN window, alone and in a batch of 256 (predict's RNN batch);
  3. the exported files' sizes.
Each figure is the median of --repeats calls after one untimed call.
Goals (issue 34): onnxruntime at least JAX's throughput at batch 64; at most
2 ms per face at batch 1 for the reference CNN on 2 cores.
"""

import tempfile
from pathlib import Path

import jax
import numpy as np
import onnxruntime
from absl import app, flags
from check_report import cpu_line
from timing import environment_line, fresh_model, median_seconds

from affect_jax import host_memory, runtime
from affect_jax.onnx_export.cnn_graph import cnn_graph
from affect_jax.onnx_export.rnn_graph import rnn_graph

_MODEL = flags.DEFINE_enum("model", "reference", ["quickstart", "reference"], "Architecture.")
_REPEATS = flags.DEFINE_integer("repeats", 20, "Timed calls per figure (median).")
RNN_BATCH = 256


def _sessions(model, folder: Path) -> dict:
    """{precision: (cnn session, rnn session)}, the graphs saved under `folder`."""
    cnn_state = jax.device_get(model.cnn_state)
    variables = {"params": cnn_state.params, "batch_stats": cnn_state.batch_stats}
    rnn_params = jax.device_get(model.rnn_state.params)
    sessions = {}
    for precision in ("float32", "float16"):
        cnn = cnn_graph(variables, model.cnn_config.model, precision, "fresh")
        rnn = rnn_graph(rnn_params, model.rnn_config.model, False, precision, "fresh")
        for name, graph in (("cnn", cnn), ("rnn", rnn)):
            path = folder / f"{name}_{precision}.onnx"
            path.write_bytes(graph.SerializeToString())
            print(f"  {path.name}: {path.stat().st_size / 1e6:.2f} MB")
        sessions[precision] = tuple(
            onnxruntime.InferenceSession(g.SerializeToString(), providers=["CPUExecutionProvider"])
            for g in (cnn, rnn)
        )
    return sessions


def _line(what: str, seconds: float, count: int, baseline: float | None = None) -> str:
    per_item = 1e3 * seconds / count
    ratio = f", {baseline / seconds:.2f}x JAX's throughput" if baseline else ""
    return f"  {what:<34} {per_item:8.3f} ms each, {count / seconds:9.1f}/s{ratio}"


def main(argv):
    del argv
    print(environment_line())
    print(cpu_line())
    print(f"onnxruntime {onnxruntime.__version__}, {onnxruntime.get_device()}")
    repeats = _REPEATS.value
    rng = np.random.default_rng(0)
    crops = rng.integers(0, 256, (64, 96, 96), dtype=np.uint8)
    with tempfile.TemporaryDirectory() as folder:
        jax_models = {size: fresh_model(_MODEL.value, size) for size in (1, 64)}
        model, description = jax_models[64]
        print(description)
        print("Exported files:")
        sessions = _sessions(model, Path(folder))
        for size in (1, 64):
            jax_model = jax_models[size][0]
            batch = crops[:size]
            jax_s = median_seconds(lambda m=jax_model, b=batch: m.collect(m.submit(b)), repeats)
            print(f"CNN at batch {size}:")
            print(_line("JAX (predict's VideoModel)", jax_s, size))
            for precision, (cnn, _) in sessions.items():
                feed = {"frames": batch[..., None]}
                onnx_s = median_seconds(lambda s=cnn, f=feed: s.run(None, f), repeats)
                print(_line(f"onnxruntime {precision}", onnx_s, size, jax_s))
        width = model.cnn_config.model.feature_dim
        windows = rng.normal(size=(RNN_BATCH, model.window, width)).astype(np.float32)
        for size in (1, RNN_BATCH):
            batch = windows[:size]
            jax_s = median_seconds(lambda b=batch: model.run_rnn(b), repeats)
            print(f"RNN (window {model.window}) at batch {size}:")
            print(_line("JAX (predict's VideoModel)", jax_s, size))
            for precision, (_, rnn) in sessions.items():
                onnx_s = median_seconds(lambda s=rnn, b=batch: s.run(None, {"windows": b}), repeats)
                print(_line(f"onnxruntime {precision}", onnx_s, size, jax_s))


if __name__ == "__main__":
    runtime.apply_fast_cpu_flags()
    host_memory.keep_freed_memory_unless_declined()  # As the project's command lines do.
    app.run(main)
