"""Tasks: losses, metrics, the multitask head, label names, and the task table (registry.py).

A task (config.task) owns its loss, head width, targets, metrics and how its
logits become probabilities (activations.py); a stage looks it up once and
passes it down instead of branching. Imports nothing above config and runtime.
"""
