"""Run the converter without installing it: `python cli.py convert SRC... --out DIR`."""

import sys

from airflow2kfp.cli import main

if __name__ == "__main__":
    sys.exit(main())
