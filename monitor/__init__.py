"""Data-drift and model-performance monitoring service."""

__version__ = "0.1.0"
