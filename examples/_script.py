"""What every example script shares: its command-line options and the optional matplotlib."""
import argparse


def example_parser(doc):
    """An argument parser with the options every example takes: --outdir and --no-plot."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--outdir", default=".", help="where to save the PNG files (default: .)")
    ap.add_argument("--no-plot", action="store_true", help="print only, save no figures")
    return ap


def pyplot():
    """matplotlib.pyplot with a file-only backend, or None (with one line saying why)."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: skipping the plots (pip install matplotlib)")
        return None
    return plt


def save_figure(plt, fig, outdir, name):
    """Lay out, save as outdir/name at 110 dpi, close, and say where it went."""
    import os

    fig.tight_layout()
    path = os.path.join(outdir, name)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"saved {path}")
    return path


def contour_figure(f, xy, xlim, ylim, levels, outdir, figsize):
    """A figure of two panels, the left one with f's contour lines over xlim x ylim.

    Returns (plt, fig, left axes, right axes), or None when matplotlib is missing.
    """
    import os

    import numpy as np
    import sympy as sp

    plt = pyplot()
    if plt is None:
        return None
    os.makedirs(outdir, exist_ok=True)
    fnum = sp.lambdify(xy, f, "numpy")
    g1, g2 = np.meshgrid(np.linspace(*xlim, 300), np.linspace(*ylim, 300))
    fig, (ax, bx) = plt.subplots(1, 2, figsize=figsize)
    ax.contour(g1, g2, fnum(g1, g2), levels=levels, cmap="viridis", linewidths=0.7)
    return plt, fig, ax, bx
