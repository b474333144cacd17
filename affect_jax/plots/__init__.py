"""Plots: the PNG figures, one module per kind (training, balancing, multitask, timelines).

Draw from arrays and results they are given; may import data/ (types), tasks/
and below, never training/ or stages/.
"""
