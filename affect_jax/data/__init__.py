"""Data: sources, Grain pipelines, balancing, augmentation, windows, the feature store.

Reads records that data_builders/ wrote and feature stores that the extract
stage wrote. May import models/, tasks/, faces/, config and runtime; never
training/, stages/ or plots/ (it draws nothing).
"""
