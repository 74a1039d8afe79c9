"""leaklint: a static analyser that finds resource leaks in Python code."""

__version__ = "0.1.0"
