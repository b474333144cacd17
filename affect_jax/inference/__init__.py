"""Inference: a run as a video model, prediction over videos, the per-frame output files.

The library behind `python -m affect_jax.predict` and the notebook. May import
plots/, training/ and below; never stages/ or paper/.
"""
