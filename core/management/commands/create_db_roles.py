"""Create (or bring in line) the two PostgreSQL roles Qazyna runs with (DESIGN §6).

- the **owner** role owns the schema's tables; only `manage.py migrate` connects as it;
- the **app** role is what web, worker and beat connect as. It owns nothing, so it can
  neither ALTER (no DISABLE TRIGGER) nor TRUNCATE; it gets SELECT/INSERT/UPDATE/DELETE on
  tables and USAGE on sequences, now and (default privileges) for every table the owner
  creates later — except on the audit record, which it may only read and append to.

Run it as a superuser (or a role with CREATEROLE that owns the database), before `migrate`
and again after, any number of times: every statement is idempotent. `--adopt` hands
objects that someone else created in the schema (an older deployment migrated as the
superuser) to the owner. `--print-sql` prints the statements instead of running them.

    DATABASE_URL=postgres://postgres@db/qazyna manage.py create_db_roles \\
        --owner-url-file /run/secrets/database_owner_url \\
        --app-url-file /run/secrets/database_url --adopt

With `--*-url-file` the role names and passwords come from the very URLs that migrate and
the application connect with (one source of truth); `--owner`/`--app` with
`--*-password-file` say them separately.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

from django.core.management.base import BaseCommand, CommandError
from django.db import connections, transaction

ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

# Tables the app role may read and append to, never change; the privileges it loses.
APPEND_ONLY = {
    "core_auditevent": "UPDATE, DELETE, TRUNCATE",
    "core_auditchainhead": "DELETE, TRUNCATE",
    "core_auditverification": "UPDATE, DELETE, TRUNCATE",
}


def _ident(name: str) -> str:
    if not ROLE_NAME.match(name):
        raise CommandError(f"{name!r} is not a plain role name ([a-z_][a-z0-9_]*)")
    return f'"{name}"'


def _create_role(role: str) -> str:
    return (f"DO $$ BEGIN CREATE ROLE {role} LOGIN; "
            "EXCEPTION WHEN duplicate_object THEN NULL; END $$")


def role_statements(*, owner: str, app: str, schema: str = "public",
                    adopt: bool = False) -> list[str]:
    """The SQL, in order. Passwords are set separately (never printed)."""
    o, a, s = _ident(owner), _ident(app), _ident(schema)
    statements = [
        _create_role(o),
        _create_role(a),
        # Neither role is more than a login: no superuser, no role or database creation,
        # no replication, no RLS bypass, and neither is a member of the other.
        f"ALTER ROLE {o} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS",
        f"ALTER ROLE {a} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS",
        f"DO $$ BEGIN IF pg_has_role('{app}', '{owner}', 'MEMBER') THEN "
        f"RAISE EXCEPTION 'role {app} is a member of {owner}: revoke that first'; END IF; END $$",
        "DO $$ BEGIN EXECUTE format('GRANT CONNECT ON DATABASE %I TO "
        f"{o}, {a}', current_database()); END $$",
        f"GRANT USAGE, CREATE ON SCHEMA {s} TO {o}",
        f"REVOKE CREATE ON SCHEMA {s} FROM PUBLIC",
        f"GRANT USAGE ON SCHEMA {s} TO {a}",
    ]
    if adopt:
        statements.append(_adopt(owner=owner, schema=schema))
    statements += [
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {s} TO {a}",
        f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA {s} TO {a}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {o} IN SCHEMA {s} "
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {a}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {o} IN SCHEMA {s} GRANT USAGE ON SEQUENCES TO {a}",
    ]
    for table, privileges in APPEND_ONLY.items():
        statements.append(
            f"DO $$ BEGIN IF to_regclass('{schema}.{table}') IS NOT NULL THEN "
            f"REVOKE {privileges} ON {s}.{table} FROM {a}; END IF; END $$")
    return statements


def _adopt(*, owner: str, schema: str) -> str:
    """Everything in the schema that the owner does not own yet becomes the owner's:
    tables (with their indexes and identity sequences), views, free sequences, functions."""
    return f"""DO $$
DECLARE r record;
BEGIN
    FOR r IN
        SELECT c.relkind, c.relname FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = '{schema}' AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
          AND c.relowner <> '{owner}'::regrole
          AND NOT (c.relkind = 'S' AND EXISTS (
              SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype IN ('a', 'i')))
    LOOP
        EXECUTE format('ALTER %s %I.%I OWNER TO %I',
                       CASE r.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW'
                                      WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END,
                       '{schema}', r.relname, '{owner}');
    END LOOP;
    FOR r IN
        SELECT p.oid::regprocedure AS signature FROM pg_proc p
        JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = '{schema}' AND p.proowner <> '{owner}'::regrole
    LOOP
        EXECUTE format('ALTER FUNCTION %s OWNER TO %I', r.signature, '{owner}');
    END LOOP;
END $$"""


def _read(path: str) -> str:
    text = Path(path).read_text().strip()
    if not text:
        raise CommandError(f"{path} is empty.")
    return text


def _role_from_url(path: str) -> tuple[str, str]:
    url = urlsplit(_read(path))
    if url.scheme not in ("postgres", "postgresql", "pgsql") or not url.username:
        raise CommandError(f"{path} does not hold a postgres://user:password@host/db URL.")
    return unquote(url.username), unquote(url.password or "")


class Command(BaseCommand):
    help = ("Create the database owner role (migrations) and the application role (web, "
            "worker, beat; owns nothing, cannot TRUNCATE or ALTER). Run as a superuser.")

    def add_arguments(self, parser):
        parser.add_argument("--owner", default="qazyna_owner")
        parser.add_argument("--app", default="qazyna_app")
        parser.add_argument("--schema", default="public")
        parser.add_argument("--owner-password-file")
        parser.add_argument("--app-password-file")
        parser.add_argument("--owner-url-file",
                            help="a postgres:// URL: the owner's name and password")
        parser.add_argument("--app-url-file",
                            help="a postgres:// URL: the application role's name and password")
        parser.add_argument("--adopt", action="store_true",
                            help="hand objects in the schema that others own to the owner")
        parser.add_argument("--print-sql", action="store_true",
                            help="print the statements (without passwords) and do nothing")
        parser.add_argument("--database", default="default")

    def handle(self, *args, **options):
        passwords = {}
        for kind in ("owner", "app"):
            if options[f"{kind}_url_file"]:
                name, password = _role_from_url(options[f"{kind}_url_file"])
                options[kind] = name
                passwords[name] = password
            elif options[f"{kind}_password_file"]:
                passwords[options[kind]] = _read(options[f"{kind}_password_file"])
        owner, app = options["owner"], options["app"]
        if owner == app:
            raise CommandError("The owner and the application must be different roles.")
        statements = role_statements(owner=owner, app=app, schema=options["schema"],
                                     adopt=options["adopt"])
        if options["print_sql"]:
            for statement in statements:
                self.stdout.write(statement.rstrip() + ";\n")
            return
        connection = connections[options["database"]]
        if connection.vendor != "postgresql":
            raise CommandError("Database roles exist on PostgreSQL only.")
        with transaction.atomic(using=options["database"]), connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
            for role, password in passwords.items():
                if password:
                    cursor.execute(f"ALTER ROLE {_ident(role)} PASSWORD %s", [password])
        self.stdout.write(f"Roles ready: {owner} owns the schema (run migrate as it), "
                          f"{app} is the application's (owns nothing).")
