"""``python -m slogen.github run``: the GitHub Action's main step (:mod:`slogen.github.step`)."""

import sys

from slogen.github.step import main

if __name__ == "__main__":
    sys.exit(main())
