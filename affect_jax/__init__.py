"""affect-jax: facial emotion recognition from video in JAX/Flax.

The top level holds the command lines (main, build, predict, reproduce,
import_keras: flags -> one library call) and the two modules every layer may
use, config.py and runtime.py. Layers, highest first: command lines -> paper/
-> stages/, inference/ -> plots/, training/ -> data/, synthetic/ -> models/
-> tasks/, faces/ -> config -> runtime (`.importlinter`, tests/test_layering.py).
"""
