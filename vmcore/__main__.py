"""``python -m vmcore`` is ``vmctl``."""

from vmcore.cli import main

main()
