#!/usr/bin/env python
"""Django's command-line utility; ``alphasms`` is the same with friendlier names."""

from __future__ import annotations

import sys

from alphasms.cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], prog="manage.py"))
