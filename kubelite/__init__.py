"""kubelite: a small Kubernetes in Python."""

__version__ = "0.1.0"
