"""``python -m copytrace``: the ``copytrace`` command."""

from copytrace.cli import main

main(prog_name="copytrace")
