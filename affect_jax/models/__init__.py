"""Models: the frame CNN (and its fused first block, pooling), RNN stacks, the model registry.

Flax modules and what picks them from a config (registry.py); also reading the
authors' Keras checkpoints into our parameter trees. May import tasks/ (for the
head width), config and runtime.
"""
