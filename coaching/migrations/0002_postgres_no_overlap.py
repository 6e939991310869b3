"""PostgreSQL only: active 1-on-1 bookings of one coach can never overlap.

`ExclusionConstraint` in Meta.constraints would break `migrate` on SQLite (`near "EXCLUDE"`),
so the extension and constraint are created here, only when the connection is PostgreSQL.
Half-open ranges ('[)') let one session end exactly when the next begins.
"""

from django.db import migrations

CONSTRAINT = "booking_no_overlapping_active_one_on_one"

CREATE_SQL = f"""
CREATE EXTENSION IF NOT EXISTS btree_gist;
ALTER TABLE coaching_booking ADD CONSTRAINT {CONSTRAINT}
    EXCLUDE USING gist (coach_id WITH =, tstzrange(start_at, end_at, '[)') WITH &&)
    WHERE (coach_id IS NOT NULL AND status IN ('pending_payment', 'confirmed'));
"""
DROP_SQL = f"ALTER TABLE coaching_booking DROP CONSTRAINT IF EXISTS {CONSTRAINT};"


class PostgresOnlySQL(migrations.RunSQL):
    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):
    dependencies = [("coaching", "0001_initial")]

    operations = [PostgresOnlySQL(CREATE_SQL, DROP_SQL)]
