"""``python -m petool_utils.cli``: the ``petool`` command (``accelerate launch -m petool_utils.cli ...``)."""

from petool_utils.cli import main

main()
