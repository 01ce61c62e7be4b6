"""Staff script: measure a model folder on labelled data. Same as `triage evaluate`.

.venv/bin/python training/evaluate.py --model models/<version> --data data/eval/handwritten.csv [--report DIR]
"""

import sys

from triage.cli import main

if __name__ == "__main__":
    sys.exit(main(["evaluate", *sys.argv[1:]]))
