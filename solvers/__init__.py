"""solvers package."""
__all__ = []
