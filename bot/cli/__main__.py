"""`python -m bot.cli`: the `sapa` command, as `sapa run` starts its web, worker and clock children."""

from __future__ import annotations

import os

from bot.cli import main

if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
