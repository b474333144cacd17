"""The paper reproduction: its experiments in order (experiments.py) and REPORT.md (report.py).

The highest layer below the command lines: may import stages/, data/,
synthetic/ and below.
"""
