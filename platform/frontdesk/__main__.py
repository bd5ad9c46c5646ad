"""``python -m frontdesk``: the same as the ``frontdesk`` command."""

from frontdesk.cli import main

main()
