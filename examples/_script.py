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
