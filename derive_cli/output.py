"""What the commands print: pretty text, LaTeX or JSON (stable keys), solver logs and plots."""
import json

import numpy as np
import sympy as sp

from .errors import CLIError


def emit(args, title, items, notes=()):
    """Print named results as pretty text, LaTeX (``args.latex``) or JSON (``args.json``).

    The ``notes`` keys of ``items`` are remarks on the result (a string or None): JSON keeps
    them as keys (null when None); text prints "note: ..." after the results, LaTeX a comment.
    """
    if args.json:
        payload = {"command": args.command, "result": {k: jsonable(v) for k, v in items.items()}}
        print(json.dumps(payload, indent=2, sort_keys=True))
        return
    if title and not args.latex:
        print(title)
    remarks = [items[k] for k in notes if items.get(k)]
    items = {k: v for k, v in items.items() if k not in notes}
    for key, value in items.items():
        symbolic = isinstance(value, (sp.Basic, sp.MatrixBase))
        if args.latex:
            print(f"% {key}\n{sp.latex(value) if symbolic else value}")
        elif symbolic:
            print(f"{key} =")
            print(sp.pretty(value, use_unicode=True))
        else:
            print(f"{key} = {value}")
    for remark in remarks:
        print(f"% note: {remark}" if args.latex else f"note: {remark}")


def jsonable(value):
    """``value`` with SymPy objects as strings and arrays as lists, for ``json.dumps``.

    >>> x = sp.Symbol("x")
    >>> jsonable({x: sp.Matrix([[2 * x, 1]]), "n": (1, None)})
    {'x': [['2*x', '1']], 'n': [1, None]}
    """
    if isinstance(value, sp.MatrixBase):
        return [[str(v) for v in row] for row in value.tolist()]
    if isinstance(value, sp.Basic):
        return str(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    return str(value)


def print_iteration_log(result):
    """About 20 rows of f(x_k) and |grad f(x_k)| from a solver result's history, the last included."""
    history = getattr(result, "history", None)
    if not history:
        return
    fun, gnorm = history["fun"], history["grad_norm"]
    step = max(1, len(fun) // 20)
    print(f"{'iter':>6}  {'f(x)':>14}  {'|grad|':>11}")
    for k in list(range(0, len(fun), step)) + ([len(fun) - 1] if (len(fun) - 1) % step else []):
        print(f"{k:>6}  {fun[k]:>14.6e}  {gnorm[k]:>11.3e}")


def plot_solve(out, value, result, wrt, path=None):
    """Save the convergence curves of ``result`` (and, in 2-D, the ``path`` over contours of ``value``)."""
    try:
        import matplotlib
    except ImportError:
        raise CLIError("--plot needs matplotlib: pip install 'derive-toolkit[plot]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    history = result.history
    two_d = path is not None and len(path) > 1
    fig, axes = plt.subplots(1, 2 if two_d else 1, figsize=(11 if two_d else 6, 4.5))
    axes = np.atleast_1d(axes)
    fun = np.asarray(history["fun"], dtype=float)
    axes[0].semilogy(np.maximum(fun - fun.min(), 1e-300) + 1e-16, label="f(x_k) - min f")
    axes[0].semilogy(history["grad_norm"], label="|grad f(x_k)|")
    axes[0].set_xlabel("iteration")
    axes[0].legend()
    if two_d:
        path_xy = np.asarray(path)
        lo, hi = path_xy.min(axis=0), path_xy.max(axis=0)
        pad = 0.25 * np.maximum(hi - lo, 1.0)
        gx, gy = np.meshgrid(np.linspace(lo[0] - pad[0], hi[0] + pad[0], 200),
                             np.linspace(lo[1] - pad[1], hi[1] + pad[1], 200))
        z = np.array([[value(np.array([a, b])) for a, b in zip(ra, rb)] for ra, rb in zip(gx, gy)])
        axes[1].contour(gx, gy, np.log1p(z - z.min()), levels=30, cmap="viridis")
        axes[1].plot(path_xy[:, 0], path_xy[:, 1], "r.-", ms=3)
        axes[1].set_xlabel(wrt[0].name)
        axes[1].set_ylabel(wrt[1].name)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    print(f"saved {out}")
