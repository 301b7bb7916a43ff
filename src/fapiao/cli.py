"""The `fapiao` command: Django's manage.py under a friendly name."""

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fapiao.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["fapiao", *(sys.argv[1:] if argv is None else argv)])
