"""Create the benchmark data in the database of DATABASE_URL: `python -m bench.generate_cli N`."""

import json
import os
import sys
import time


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from bench.generate import generate

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    stats = generate(int(sys.argv[1]))
    stats["seconds"] = time.perf_counter() - started
    print(json.dumps(stats))


if __name__ == "__main__":
    main()
