"""docspasta: turn a documentation website into one clean, LLM-ready markdown document."""

__version__ = "0.1.0"
