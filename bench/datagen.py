"""Load a national-scale data set into PostgreSQL with COPY: cases with their assets,
transfers, deposits, alerts, the reserve ledger and a valid hash-chained audit record.

    .venv/bin/python -m bench.datagen --cases 1000000 --events 1000000
    .venv/bin/python -m bench.datagen --cases 20000 --events 20000   # a quick one

Everything the lists, exports and reconciliation read is there, shaped like Qazyna's own
rows: 16 law-enforcement agencies with a custody wallet each (every case has its own index
and address), cases in every status with two assets each, a transfer for every case that
went to the reserve (settled ones with a balanced three-line journal entry), reserve
addresses, deposits, alerts, and --events audit events chained from the genesis hash
(``core.audit.verify_chain`` accepts them). The people the benchmarks sign in as are
``bench_clerk``, ``bench_legal``, ``bench_bank``, ``bench_auditor`` and ``bench_admin``
(password ``bench-password``; the clerk belongs to agency ``a01``).

The database must be one the generator may empty: its name must contain "bench" (it is
created if missing and migrated). Default: postgres://postgres@127.0.0.1:5432/qazyna_bench_1m.
"""

import argparse
import datetime as dt
import hashlib
import json
import os
import random
import sys
import time

from bench.audit_bench import COLUMNS as AUDIT_COLUMNS
from bench.audit_bench import ensure_database, generate, setup_django

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/qazyna_bench_1m"
PASSWORD = "bench-password"
AGENCIES = 16
START = dt.datetime(2024, 1, 1, 8, 0, tzinfo=dt.UTC)

# (status, weight): most cases are far along, as in a registry that has run for years.
STATUSES = [("DRAFT", 8), ("SUBMITTED", 8), ("UNDER_REVIEW", 12),
            ("RETURNED_FOR_CORRECTION", 3), ("REJECTED", 5), ("CONFISCATION_APPROVED", 12),
            ("ON_APPEAL", 2), ("IN_TRANSFER", 5), ("IN_RESERVE", 35), ("CLOSED", 10)]
TRANSFERRED = {"IN_TRANSFER", "IN_RESERVE", "CLOSED"}
ALERT_KINDS = ["INTAKE_DISCREPANCY", "UNAPPROVED_SPEND", "REORG", "CONFLICT", "TAMPERING"]

# Tables the generator empties (children first) and fills.
TABLES = ["custody_ledgerline", "custody_journalentry", "custody_valuation",
          "custody_transferapproval", "custody_signedpsbtupload", "custody_transferinput",
          "custody_transfer", "custody_deposit", "custody_reconciliationrun",
          "custody_reserveaddress", "custody_quorumpolicy", "custody_reservewallet",
          "intake_casealert", "intake_sweeptransaction", "intake_evidence",
          "intake_custodyentry", "intake_confiscationorder", "intake_seizedasset",
          "intake_seizurecase", "custody_custodywallet"]


def fake_address(kind, i):
    """A unique made-up regtest address (the lists never decode it)."""
    return "bcrt1q" + hashlib.sha256(f"{kind}{i}".encode()).hexdigest()[:38]


def fake_txid(kind, i):
    return hashlib.sha256(f"{kind}{i}".encode()).hexdigest()


class Loader:
    def __init__(self, connection):
        self.raw = connection.connection

    def copy(self, table, columns, rows):
        started, n = time.perf_counter(), 0
        blank = self.blank_text_columns(table, columns)
        for column in blank:  # a text column added since: Django's blank, '' (not NULL)
            self.execute(f"ALTER TABLE {table} ALTER {column} SET DEFAULT ''")
        try:
            with self.raw.cursor() as cursor, cursor.copy(
                    f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
                    n += 1
            self.raw.commit()
        finally:
            self.raw.rollback()
            for column in blank:
                self.execute(f"ALTER TABLE {table} ALTER {column} DROP DEFAULT")
        print(f"  {table:28} {n:>10,} rows {time.perf_counter() - started:7.1f} s", flush=True)
        return n

    def blank_text_columns(self, table, columns):
        """The table's NOT NULL text columns without a default that the rows leave out."""
        with self.raw.cursor() as cursor:
            cursor.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = %s "
                "AND is_nullable = 'NO' AND column_default IS NULL "
                "AND data_type IN ('text', 'character varying')", [table])
            return [name for (name,) in cursor.fetchall() if name not in columns]

    def execute(self, sql, params=None):
        with self.raw.cursor() as cursor:
            cursor.execute(sql, params)
        self.raw.commit()


def people():
    """The benchmark's agencies and people (ORM: a handful of rows)."""
    from django.contrib.auth.models import Group

    from core.models import Agency, User
    from core.roles import Role

    agencies = []
    for i in range(1, AGENCIES + 1):
        agency, _ = Agency.objects.get_or_create(
            code=f"a{i:02d}", defaults={"name": f"Agency {i:02d}"})
        agencies.append(agency)
    Agency.objects.get_or_create(code="nb", defaults={"name": "National Bank",
                                                      "kind": Agency.Kind.NATIONAL_BANK})
    made = {}
    for name, role, agency in [("bench_clerk", Role.CLERK, agencies[0]),
                               ("bench_legal", Role.LEGAL_OFFICER, None),
                               ("bench_bank", Role.BANK_OFFICER, None),
                               ("bench_bank2", Role.BANK_OFFICER, None),
                               ("bench_auditor", Role.AUDITOR, None),
                               ("bench_admin", Role.ADMIN, None)]:
        user, created = User.objects.get_or_create(username=name, defaults={"agency": agency})
        if created:
            user.set_password(PASSWORD)
            user.save()
        user.groups.add(Group.objects.get_or_create(name=role)[0])
        made[name] = user
    return agencies, made


def empty(loader):
    loader.execute(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE")


def cases_and_assets(loader, n, agencies, clerk, legal, rng):
    """COPY n cases (round-robin over the agencies, each at its wallet's next index) and two
    assets per case. Returns [(case id, status, agency index)] of the cases that went to
    the reserve, and the per-agency case counts."""
    wallets = {}
    for k, agency in enumerate(agencies):
        wallets[k] = k + 1
        loader.execute(
            "INSERT INTO custody_custodywallet (id, public_id, agency_id, network, label, "
            "descriptor, threshold, key_count, next_index, is_active, created_at) VALUES "
            "(%s, gen_random_uuid(), %s, 'regtest', %s, %s, 2, 3, 0, true, %s)",
            [k + 1, agency.pk, f"{agency.code} custody", f"wsh(sortedmulti(2,bench{k}))",
             START])
    names, weights = zip(*STATUSES, strict=True)
    statuses = rng.choices(names, weights, k=n)
    next_index = [0] * len(agencies)
    transferred = []

    def case_rows():
        when = START
        for i in range(1, n + 1):
            k = (i * 7919) % len(agencies)  # spread, not striped (alerts() repeats this)
            index = next_index[k]
            next_index[k] += 1
            status = statuses[i - 1]
            when += dt.timedelta(seconds=rng.randrange(1, 60))
            if status in TRANSFERRED:
                transferred.append((i, status, k))
            reviewed = status not in ("DRAFT", "SUBMITTED")
            yield (i, f"{agencies[k].code.upper()}-{i:07d}", status, f"W-{i}/2024",
                   when.date(), f"P-{i}", when.date(), f"Owner {i % 50_000}",
                   f"{800_000_000_000 + i}", "", "", index,
                   fake_address("case", i), "", when, when, when, agencies[k].pk, wallets[k],
                   clerk.pk, legal.pk if reviewed else None)

    loader.execute("ALTER TABLE intake_seizurecase ALTER public_id SET DEFAULT gen_random_uuid()")
    loader.copy("intake_seizurecase",
                ["id", "case_number", "status", "warrant_number", "warrant_date",
                 "seizure_protocol_number", "seizure_date", "owner_name", "owner_identifier",
                 "owner_details", "description", "custody_index", "custody_address",
                 "status_reason", "created_at", "updated_at", "status_changed_at",
                 "agency_id", "custody_wallet_id", "filed_by_id", "reviewer_id"],
                case_rows())
    loader.execute("ALTER TABLE intake_seizurecase ALTER public_id DROP DEFAULT")
    for k, count in enumerate(next_index):
        loader.execute("UPDATE custody_custodywallet SET next_index = %s WHERE id = %s",
                       [count, wallets[k]])

    def asset_rows():
        for i in range(1, n + 1):
            address = fake_address("case", i)
            when = START + dt.timedelta(seconds=30 * i)
            for j in (0, 1):
                verified = statuses[i - 1] not in ("DRAFT", "SUBMITTED")
                yield (2 * i - 1 + j, "BTC", "regtest", "", rng.randrange(10**5, 10**9),
                       "", address, "VERIFIED" if verified else "PENDING", when, i)

    loader.execute("ALTER TABLE intake_seizedasset ALTER public_id SET DEFAULT gen_random_uuid()")
    loader.copy("intake_seizedasset",
                ["id", "asset", "network", "asset_label", "declared_amount", "source_address",
                 "custody_address", "verification_status", "created_at", "case_id"],
                asset_rows())
    loader.execute("ALTER TABLE intake_seizedasset ALTER public_id DROP DEFAULT")
    return transferred


def reserve(loader, bank, bank2, addresses):
    loader.execute(
        "INSERT INTO custody_reservewallet (id, public_id, label, network, descriptor, "
        "threshold, key_count, next_index, status, entered_by_id, approved_by_id, created_at) "
        "VALUES (1, gen_random_uuid(), 'Reserve (bench)', 'regtest', "
        "'wsh(sortedmulti(2,benchreserve))', 2, 3, %s, 'ACTIVE', %s, %s, %s)",
        [addresses, bank.pk, bank2.pk, START])
    loader.copy("custody_reserveaddress",
                ["id", "wallet_id", "index", "address", "script_pubkey", "created_at"],
                ((i, 1, i - 1, fake_address("reserve", i), "0020" + fake_txid("spk", i),
                  START) for i in range(1, addresses + 1)))


def transfers_and_ledger(loader, transferred, bank, rng):
    """A transfer per case in the reserve (settled, with its three ledger lines) or in
    transfer (confirming); destinations are reserve addresses 1..len(transferred)."""
    entries = []

    def transfer_rows():
        for t, (case_id, status, _k) in enumerate(transferred, start=1):
            amount = rng.randrange(10**5, 10**9)
            fee = 1_200
            when = START + dt.timedelta(seconds=30 * case_id + 3600)
            settled = status != "IN_TRANSFER"
            payload = json.dumps({"inputs": [[fake_txid("sweep", case_id), 0, amount + fee]],
                                  "outputs": [[fake_address("reserve", t), amount]],
                                  "fee": fee})
            if settled:
                entries.append((t, case_id, amount, fee, when))
            yield (t, "regtest", "SETTLED" if settled else "CONFIRMING", payload,
                   hashlib.sha256(payload.encode()).hexdigest(), 2, amount + fee, amount, fee,
                   10, "cHNidP8B", fake_txid("unsigned", t), "", "", fake_txid("tx", t),
                   when, fake_txid("block", t // 100), 800_000 + t // 100,
                   6 if settled else 2, "", "", when, when, when if settled else None,
                   case_id, t, bank.pk, 1, "RESERVE")

    loader.execute("ALTER TABLE custody_transfer ALTER public_id SET DEFAULT gen_random_uuid()")
    loader.copy("custody_transfer",
                ["id", "network", "status", "payload", "payload_hash", "approvals_required",
                 "input_total_sats", "amount_sats", "fee_sats", "fee_rate_sat_vb",
                 "unsigned_psbt", "unsigned_txid", "combined_psbt", "final_tx_hex", "txid",
                 "broadcast_attempted_at", "block_hash", "block_height", "confirmations",
                 "failure_reason", "status_reason", "created_at", "status_changed_at",
                 "settled_at", "case_id", "destination_id", "proposed_by_id",
                 "reserve_wallet_id", "kind"], transfer_rows())
    loader.execute("ALTER TABLE custody_transfer ALTER public_id DROP DEFAULT")

    loader.execute("ALTER TABLE custody_journalentry ALTER public_id SET DEFAULT gen_random_uuid()")
    loader.copy("custody_journalentry",
                ["id", "kind", "asset", "network", "txid", "block_hash", "block_height", "memo",
                 "created_at", "transfer_id"],
                ((e, "TRANSFER_SETTLED", "BTC", "regtest", fake_txid("tx", t),
                  fake_txid("block", t // 100), 800_000 + t // 100, "", when, t)
                 for e, (t, _c, _a, _f, when) in enumerate(entries, start=1)))
    loader.execute("ALTER TABLE custody_journalentry ALTER public_id DROP DEFAULT")

    def line_rows():
        line = 0
        for e, (t, case_id, amount, fee, _when) in enumerate(entries, start=1):
            for account, sats, wallet, address, case in (
                    ("RESERVE", amount, 1, t, case_id), ("CUSTODY", -amount - fee, None, None,
                                                         case_id),
                    ("NETWORK_FEES", fee, None, None, case_id)):
                line += 1
                yield (line, account, sats, "SEIZURE", case, e, address, wallet)

    return loader.copy("custody_ledgerline",
                       ["id", "account", "amount_sats", "source", "case_id", "entry_id",
                        "reserve_address_id", "reserve_wallet_id"], line_rows())


def deposits(loader, n, first_address, rng):
    def rows():
        for i in range(1, n + 1):
            status = "ATTRIBUTED" if i % 3 else "UNATTRIBUTED"
            when = START + dt.timedelta(seconds=90 * i)
            yield (i, fake_txid("deposit", i), 0, rng.randrange(10**4, 10**8), status,
                   "STATE_MINING" if status == "ATTRIBUTED" else "", "", 6, 800_000 + i // 10,
                   when, first_address + i - 1)

    loader.execute("ALTER TABLE custody_deposit ALTER public_id SET DEFAULT gen_random_uuid()")
    loader.copy("custody_deposit",
                ["id", "txid", "vout", "amount_sats", "status", "source", "note",
                 "confirmations", "block_height", "seen_at", "reserve_address_id"], rows())
    loader.execute("ALTER TABLE custody_deposit ALTER public_id DROP DEFAULT")


def alerts(loader, n, cases, rng, agencies):
    def rows():
        for i in range(1, n + 1):
            case = rng.randrange(1, cases + 1) if i % 20 else None
            when = START + dt.timedelta(seconds=50 * i)
            resolved = None if i % 4 == 0 else when + dt.timedelta(days=1)
            agency = None if case is None else agencies[(case * 7919) % len(agencies)].pk
            yield (i, ALERT_KINDS[i % len(ALERT_KINDS)], f"bench-{i}",
                   "Observed amount differs from the declared amount.", "{}", when,
                   resolved, case, "OPEN" if resolved is None else "RESOLVED", 0, agency)

    loader.execute("ALTER TABLE intake_casealert ALTER public_id SET DEFAULT gen_random_uuid()")
    loader.copy("intake_casealert",
                ["id", "kind", "dedup_key", "message", "details", "created_at", "resolved_at",
                 "case_id", "status", "escalation_level", "agency_id"], rows())
    loader.execute("ALTER TABLE intake_casealert ALTER public_id DROP DEFAULT")


def audit_events(loader, n):
    """n chained events (bench.audit_bench's mix), the chain head at the last."""
    for table in ("core_auditevent", "core_auditchainhead", "core_auditverification"):
        loader.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        loader.execute(f"TRUNCATE {table}")
        loader.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
    last = None
    started = time.perf_counter()

    def rows():
        nonlocal last
        for chunk, _messages in generate(n):
            yield from chunk
            last = (chunk[-1][0], chunk[-1][11])

    loader.copy("core_auditevent", list(AUDIT_COLUMNS), rows())
    if last:
        loader.execute("INSERT INTO core_auditchainhead (id, seq, hash) VALUES (1, %s, %s)",
                       list(last))
    return time.perf_counter() - started


def reset_sequences(loader):
    for table in TABLES + ["core_auditevent"]:
        loader.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"COALESCE((SELECT max(id) FROM {table}), 0) + 1, false)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--deposits", type=int, default=None, help="default: cases / 10")
    parser.add_argument("--alerts", type=int, default=None, help="default: cases / 10")
    parser.add_argument("--spare-addresses", type=int, default=None,
                        help="reserve addresses beyond those transfers and deposits use "
                             "(default: cases / 10)")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL",
                                                                  DEFAULT_URL))
    args = parser.parse_args(argv)
    tenth = max(1, args.cases // 10)
    n_deposits = tenth if args.deposits is None else args.deposits
    n_alerts = tenth if args.alerts is None else args.alerts
    spare = tenth if args.spare_addresses is None else args.spare_addresses

    ensure_database(args.database_url)
    setup_django(args.database_url)
    from django.db import connection

    rng = random.Random(20260301)
    started = time.perf_counter()
    loader = Loader(connection)
    empty(loader)
    agencies, who = people()
    print(f"loading {args.cases:,} cases and {args.events:,} audit events into "
          f"{connection.settings_dict['NAME']} ...", flush=True)
    transferred = cases_and_assets(loader, args.cases, agencies, who["bench_clerk"],
                                   who["bench_legal"], rng)
    reserve(loader, who["bench_bank"], who["bench_bank2"],
            len(transferred) + n_deposits + spare)
    lines = transfers_and_ledger(loader, transferred, who["bench_bank"], rng)
    deposits(loader, n_deposits, len(transferred) + 1, rng)
    alerts(loader, n_alerts, args.cases, rng, agencies)
    audit_events(loader, args.events)
    reset_sequences(loader)
    vacuum = time.perf_counter()
    connection.connection.autocommit = True
    with connection.connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    print(f"  VACUUM ANALYZE {time.perf_counter() - vacuum:.1f} s")
    print(f"done in {time.perf_counter() - started:.0f} s: {args.cases:,} cases, "
          f"{2 * args.cases:,} assets, {len(transferred):,} transfers, {lines:,} ledger lines, "
          f"{n_deposits:,} deposits, {n_alerts:,} alerts, {args.events:,} audit events")


if __name__ == "__main__":
    sys.exit(main())
