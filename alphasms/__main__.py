"""``python -m alphasms`` is the ``alphasms`` command."""

from __future__ import annotations

import sys

from alphasms.cli import main

sys.exit(main())
