"""``python -m bot.directory [PATH]``: build the place index now (the container image does)."""

import sys

from bot.directory.place_index import main

raise SystemExit(main(sys.argv[1:]))
