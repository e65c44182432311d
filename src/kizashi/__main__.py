"""``python -m kizashi``: the same as the ``kizashi`` command."""

from kizashi.cli import main

main()
