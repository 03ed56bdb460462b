"""Apiary's built-in object-detection algorithm (SageMaker-compatible SSD in PyTorch)."""

__version__ = "0.1.0"
