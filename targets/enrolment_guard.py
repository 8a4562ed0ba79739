"""The database half of "an enrolment never crosses orgs" (issue 15): triggers on PostgreSQL and
SQLite that refuse, whatever the door (admin, API, import, shell, raw SQL), a GroupEnrolment
whose org differs from its group's or its customer's org, and a change of a group's or a
customer's org that would leave an enrolment crossing orgs. Both raise an integrity error
(PostgreSQL: check_violation; SQLite: RAISE(ABORT), SQLITE_CONSTRAINT_TRIGGER).
GroupEnrolment.clean() says the same in forms.

Created by migration targets 0007 and checked again after every `migrate` (post_migrate): on
SQLite, Django rebuilds a table to alter it, which drops its triggers; CREATE TRIGGER IF NOT
EXISTS puts them back.
"""

MESSAGE = "an enrolment must not cross orgs"

POSTGRES = f"""
CREATE OR REPLACE FUNCTION targets_enrolment_same_org() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.org_id IS DISTINCT FROM (SELECT org_id FROM targets_targetgroup WHERE id = NEW.group_id)
       OR NEW.org_id IS DISTINCT FROM (SELECT org_id FROM customers_customer WHERE id = NEW.customer_id)
    THEN
        RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;
DROP TRIGGER IF EXISTS targets_enrolment_same_org ON targets_groupenrolment;
CREATE TRIGGER targets_enrolment_same_org BEFORE INSERT OR UPDATE ON targets_groupenrolment
    FOR EACH ROW EXECUTE FUNCTION targets_enrolment_same_org();

CREATE OR REPLACE FUNCTION targets_enrolment_org_kept() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.org_id IS DISTINCT FROM OLD.org_id AND EXISTS (
        SELECT 1 FROM targets_groupenrolment e
        WHERE (TG_TABLE_NAME = 'targets_targetgroup' AND e.group_id = NEW.id)
           OR (TG_TABLE_NAME = 'customers_customer' AND e.customer_id = NEW.id)
    ) THEN
        RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;
DROP TRIGGER IF EXISTS targets_group_org_kept ON targets_targetgroup;
CREATE TRIGGER targets_group_org_kept BEFORE UPDATE OF org_id ON targets_targetgroup
    FOR EACH ROW EXECUTE FUNCTION targets_enrolment_org_kept();
DROP TRIGGER IF EXISTS targets_customer_org_kept ON customers_customer;
CREATE TRIGGER targets_customer_org_kept BEFORE UPDATE OF org_id ON customers_customer
    FOR EACH ROW EXECUTE FUNCTION targets_enrolment_org_kept();
"""

POSTGRES_REVERSE = """
DROP TRIGGER IF EXISTS targets_customer_org_kept ON customers_customer;
DROP TRIGGER IF EXISTS targets_group_org_kept ON targets_targetgroup;
DROP TRIGGER IF EXISTS targets_enrolment_same_org ON targets_groupenrolment;
DROP FUNCTION IF EXISTS targets_enrolment_org_kept();
DROP FUNCTION IF EXISTS targets_enrolment_same_org();
"""

CROSSES = """
    NEW.org_id IS NOT (SELECT org_id FROM targets_targetgroup WHERE id = NEW.group_id)
    OR NEW.org_id IS NOT (SELECT org_id FROM customers_customer WHERE id = NEW.customer_id)
"""
SQLITE = [
    f"""CREATE TRIGGER IF NOT EXISTS targets_enrolment_same_org_insert BEFORE INSERT ON targets_groupenrolment
    WHEN {CROSSES} BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""",
    f"""CREATE TRIGGER IF NOT EXISTS targets_enrolment_same_org_update BEFORE UPDATE ON targets_groupenrolment
    WHEN {CROSSES} BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""",
    f"""CREATE TRIGGER IF NOT EXISTS targets_group_org_kept BEFORE UPDATE OF org_id ON targets_targetgroup
    WHEN NEW.org_id IS NOT OLD.org_id
     AND EXISTS (SELECT 1 FROM targets_groupenrolment WHERE group_id = NEW.id)
    BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""",
    f"""CREATE TRIGGER IF NOT EXISTS targets_customer_org_kept BEFORE UPDATE OF org_id ON customers_customer
    WHEN NEW.org_id IS NOT OLD.org_id
     AND EXISTS (SELECT 1 FROM targets_groupenrolment WHERE customer_id = NEW.id)
    BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""",
]
SQLITE_TRIGGERS = [
    "targets_enrolment_same_org_insert",
    "targets_enrolment_same_org_update",
    "targets_group_org_kept",
    "targets_customer_org_kept",
]


def create_triggers(connection):
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(POSTGRES)
        elif connection.vendor == "sqlite":
            for statement in SQLITE:
                cursor.execute(statement)


def drop_triggers(connection):
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(POSTGRES_REVERSE)
        elif connection.vendor == "sqlite":
            for name in SQLITE_TRIGGERS:
                cursor.execute(f"DROP TRIGGER IF EXISTS {name}")


def restore_after_migrate(sender, using="default", **kwargs):
    """post_migrate: SQLite loses a table's triggers when a migration rebuilds the table."""
    from django.db import connections

    connection = connections[using]
    if connection.vendor == "sqlite" and "targets_groupenrolment" in connection.introspection.table_names():
        create_triggers(connection)
