"""codegen package."""
__all__ = []
