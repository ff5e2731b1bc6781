#!/usr/bin/env python
import os
import sys

from django.core.exceptions import ImproperlyConfigured
from django.core.management import execute_from_command_line


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    try:
        execute_from_command_line(sys.argv)
    except ImproperlyConfigured as error:
        # A bad environment variable: say which, without a traceback to dig through.
        if str(error).startswith("Environment variable"):
            sys.stderr.write(f"Cadence cannot start: {error}\n")
            sys.exit(2)
        raise


if __name__ == "__main__":
    main()
