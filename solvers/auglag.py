"""The augmented-Lagrangian method for general constraints (work in progress)."""

__all__ = ["auglag"]


def auglag(objective, x0, *, args=(), eq=None, ineq=None, constraints=(), bounds=None,
           callback=None, history=False, wrt=None, **options):
    """Minimise subject to ``eq = 0``, ``ineq <= 0`` and bounds (augmented Lagrangian)."""
    raise NotImplementedError("the augmented Lagrangian is being written (issue 12)")
