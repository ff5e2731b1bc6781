"""PostgreSQL, as Django's backend, with one difference: `manage.py flush` (and the test
runner's flush between transactional tests) may empty the invoice tables.

The billing tables refuse TRUNCATE (billing/migrations/0007): an issued invoice is immutable,
and a TRUNCATE would skip the row triggers that say so. The refusal gives way only inside a
transaction that sets `cadence.allow_truncate`, which is what this backend's flush does.
"""

from django.db.backends.postgresql import base, operations


class DatabaseOperations(operations.DatabaseOperations):
    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        statements = super().sql_flush(
            style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade
        )
        if not statements:
            return statements
        # flush runs its statements in one transaction: SET LOCAL ends with it.
        return ["SET LOCAL cadence.allow_truncate = 'on'", *statements]


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations
