"""`field__any=[…]`: membership in a list of values, written for long lists.

`__in` writes one placeholder per value (`id IN (%s, %s, …)`): with the thousand ids of a
billing chunk, building, parsing and binding that statement costs more than running it. On
PostgreSQL `__any` sends the list as one array parameter (`id = ANY(%s::bigint[])`), the same
statement text whatever the number of values; elsewhere (SQLite) it is `IN`.
"""

from __future__ import annotations

from django.db.models import Field, ForeignObject
from django.db.models.lookups import In

from core.db.bulk import array_literal


class AnyOf(In):
    lookup_name = "any"

    def as_postgresql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        field = self.lhs.output_field
        db_type = field.rel_db_type(connection) if field.is_relation else field.db_type(connection)
        values = [field.get_db_prep_value(value, connection) for value in self.rhs]
        try:
            array = array_literal(values)  # one string: far cheaper to bind than a list
        except TypeError:
            array = values
        return f"{lhs} = ANY(%s::{db_type}[])", (*lhs_params, array)


def register() -> None:
    Field.register_lookup(AnyOf)
    ForeignObject.register_lookup(AnyOf)  # relations keep lookups of their own
