"""affect-jax: facial emotion recognition from video in JAX/Flax.

The top level holds the command lines (main, build, predict, reproduce,
import_keras, export: start-up, then flags -> one library call), startup.py
(the one start-up call they make) and the two modules every layer may use,
config.py and runtime.py. Layers, highest first: command lines -> paper/,
onnx_export/ -> stages/, inference/, keras_import/ -> plots/, training/ ->
data/, synthetic/ -> models/ -> tasks/, faces/ -> config, startup -> runtime,
host_memory (`.importlinter`, tests/test_layering.py).
"""
