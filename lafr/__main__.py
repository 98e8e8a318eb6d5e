"""``python -m lafr ...``: the same as the ``lafr`` command (lafr.cli)."""

import sys

from lafr.cli import main

sys.exit(main())
