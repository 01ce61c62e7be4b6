"""Staff script: retrain with verified corrections, gate, promote. Same as `triage retrain`.

.venv/bin/python training/retrain.py [--force] [--no-promote]
"""

import sys

from triage.cli import main

if __name__ == "__main__":
    sys.exit(main(["retrain", *sys.argv[1:]]))
