"""Grain input pipelines over the TFDS records."""
