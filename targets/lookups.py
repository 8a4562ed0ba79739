"""`field__any=[…]`: membership in a list of keys, bound as one array parameter on PostgreSQL.

Django's `__in` binds one parameter per value, and for the engine's lists of thousands of ids
preparing, quoting and splitting those parameters costs more Python time than the database
spends on the query. `__any` writes `col = ANY(CAST(%s AS type[]))` on PostgreSQL and is
`__in` everywhere else."""

from django.core.exceptions import EmptyResultSet
from django.db.models import Field, ForeignObject, lookups


class AnyOf(lookups.In):
    lookup_name = "any"

    def as_postgresql(self, compiler, connection):
        if not self.rhs_is_direct_value():
            return super().as_sql(compiler, connection)
        values = [value for value in self.rhs if value is not None]
        if not values:
            raise EmptyResultSet
        lhs, params = self.process_lhs(compiler, connection)
        kind = self.lhs.output_field.db_type(connection)
        return f"{lhs} = ANY(CAST(%s AS {kind}[]))", (*params, values)


Field.register_lookup(AnyOf)
ForeignObject.register_lookup(AnyOf)  # foreign keys keep lookups of their own
