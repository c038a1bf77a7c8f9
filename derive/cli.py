"""The ``derive`` command line."""
import argparse
import sys

from ._version import __version__


def main(argv=None):
    parser = argparse.ArgumentParser(prog="derive", description=__doc__)
    parser.add_argument("--version", action="version", version=f"derive-toolkit {__version__}")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("demo", help="a short tour of what the toolkit does")
    args = parser.parse_args(argv)
    if args.command == "demo":
        print("derive-toolkit demo")
        return 0
    parser.print_help()
    return 0
