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
