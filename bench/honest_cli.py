"""Honest data (issue 19, step 1): `make bench-honest` (`N=… python -m bench.honest_cli`).

Makes a fresh database (BENCH_HONEST_DB, default cadence_bench_honest), generates N
subscriptions there (bench/honest.py: BENCH_HONEST_ARCHETYPES archetypes through the services,
300 by default, copied up to N), takes the archetypes' invoice previews for D, runs the nightly
billing run for D in process (one thread), checks the result (bench.honest.verify) and prints
one JSON report; then drops the database (BENCH_HONEST_KEEP=1 keeps it).
"""

from __future__ import annotations

import json
import os
import sys
import time


def inner(n: int, archetypes: int) -> None:
    import django

    django.setup()
    from django.core.management import call_command

    from bench import honest

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    made, ctx = honest.make_archetypes(min(n, archetypes))
    archetype_seconds = time.perf_counter() - started
    mapping = honest.replicate(made, n, ctx) if n > len(made) else {}
    generate_seconds = time.perf_counter() - started
    expected = honest.previews([a.subscription_id for a in made])
    started = time.perf_counter()
    run = honest.run_day()
    run_seconds = time.perf_counter() - started
    report = honest.report()  # before the check adds its replays
    started = time.perf_counter()
    check = honest.verify(made, ctx, mapping, expected)
    check_seconds = time.perf_counter() - started
    out = {
        "n": n,
        "archetypes": len(made),
        "kinds": dict(sorted(__import__("collections").Counter(a.kind for a in made).items())),
        "archetypes_seconds": round(archetype_seconds, 1),
        "copies_seconds": round(generate_seconds - archetype_seconds, 1),
        "run_seconds": round(run_seconds, 1),
        "run": {
            "subscriptions": run.subscriptions,
            "invoices": run.invoices,
            "credit_notes": run.credit_notes,
            "lines": run.lines,
            "renewals": run.renewals,
            "waiting_usage": run.waiting_usage,
            "refused": len(run.refused),
        },
        **report,
        "check": {
            "archetypes_checked": check["archetypes_checked"],
            "copies_checked": check["copies_checked"],
            "copy_lines_checked": check["copy_lines_checked"],
            "seconds": round(check_seconds, 1),
            "failures": len(check["failures"]),
            "first_failures": [_diff(f) for f in check["failures"][:3]],
        },
    }
    print(json.dumps(out, default=str))


def generate_only(n: int, archetypes: int) -> None:
    """The honest data of N subscriptions in DATABASE_URL, not billed for D (make bench's
    template database): prints one JSON line of what was made."""
    import django

    django.setup()
    from django.core.management import call_command

    from bench import honest

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    made, _ctx, _mapping = honest.generate(n, archetypes)
    kinds = __import__("collections").Counter(a.kind for a in made)
    from subscriptions.models import Subscription

    print(
        json.dumps(
            {
                "n": Subscription.objects.count(),
                "archetypes": len(made),
                "kinds": dict(sorted(kinds.items())),
                "seconds": round(time.perf_counter() - started, 1),
            }
        )
    )


def _diff(failure: tuple) -> str:
    """A mismatch, shortened to the lines found on one side only."""
    what, pk, mine, theirs = failure[:4]
    mine, theirs = mine or [], theirs or []
    only_mine = [line for line in mine if line not in theirs]
    only_theirs = [line for line in theirs if line not in mine]
    return f"{what} (subscription {pk}): only run {only_mine!r}; only reference {only_theirs!r}"


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    n = int(os.environ.get("N", args[0] if args else "2000"))
    archetypes = int(os.environ.get("BENCH_HONEST_ARCHETYPES", "300"))
    if "--inner" in sys.argv:
        inner(n, archetypes)
        return
    if "--report" in sys.argv:  # what a run billed on D, in DATABASE_URL
        import django

        django.setup()
        from bench import honest

        print(json.dumps(honest.report(), default=str))
        return
    if "--generate" in sys.argv:
        generate_only(n, archetypes)
        return
    from bench.__main__ import fresh, psql, sh, step

    database = os.environ.get("BENCH_HONEST_DB", "cadence_bench_honest")
    fresh(database)
    try:
        step(f"honest data: {n} subscriptions, the run on 2027-01-01")
        out = sh(
            sys.executable,
            "-m",
            "bench.honest_cli",
            str(n),
            "--inner",
            database=database,
            BENCH_HONEST_ARCHETYPES=str(archetypes),
        )
        print(out.strip().splitlines()[-1])
    finally:
        if os.environ.get("BENCH_HONEST_KEEP") != "1":
            psql(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")


if __name__ == "__main__":
    main()
