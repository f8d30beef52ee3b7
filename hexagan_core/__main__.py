"""`python -m hexagan_core ...`: the headless command line (see cli.py)."""

import sys

from hexagan_core.cli import main

sys.exit(main())
