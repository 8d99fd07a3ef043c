"""ghost: cheap-map / strong-reduce writing from very long sources."""

__version__ = "0.1.0"
