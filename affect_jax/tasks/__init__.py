"""Tasks: losses, metrics, the multitask head, label names, and the task table (registry.py).

A task (config.loss) owns its loss, head width, targets and metrics; the rest of
the package looks it up instead of branching. Imports nothing above config and runtime.
"""
