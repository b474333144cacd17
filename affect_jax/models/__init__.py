"""Models: the frame CNN (and its fused first block, pooling), RNN stacks, the model registry.

Flax modules and what picks them from a config (registry.py). The authors'
Keras checkpoints become our parameter trees in keras_import/. May import
tasks/ (for the head width), config and runtime.
"""
