"""The accounting export beside psql's \\copy of the same join, and reconciliation of a
reserve wallet with 100,000 addresses: time and peak memory, each in its own process.

    .venv/bin/python -m bench.datagen --cases 1000000 --events 1000000   # once
    .venv/bin/python -m bench.export_bench [--addresses 100000] [--utxos 10000]

- anchor: ``psql -c "\\copy (SELECT … ledger lines joined to their entry, wallet and case,
  in the export's order) TO '/dev/null' CSV"``; its wall time and peak RSS.
- export: ``custody.exporters.write_accounting_csv`` to /dev/null (what
  ``manage.py export_accounting`` and the API's streamed CSV do), in a fresh process; the
  peak RSS above that process's RSS once Django is loaded is what the export itself holds.
- reconcile: a reserve wallet with --addresses addresses (made with COPY on first use), the
  node faked to report --utxos coins at some of them (each a deposit already attributed),
  ``reconcile_wallet`` timed in a fresh process with its peak RSS.

Default database: postgres://postgres@127.0.0.1:5432/qazyna_bench_1m (bench.datagen's).
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from urllib.parse import urlsplit

from bench.audit_bench import ensure_database, setup_django
from bench.datagen import DEFAULT_URL, fake_address, fake_txid

ANCHOR_SQL = (
    "SELECT 'line', e.public_id, e.kind, e.created_at, e.txid, l.account, l.amount_sats, "
    "l.amount_sats::numeric / 100000000, w.label, c.case_number, l.source "
    "FROM custody_ledgerline l JOIN custody_journalentry e ON e.id = l.entry_id "
    "LEFT JOIN custody_reservewallet w ON w.id = l.reserve_wallet_id "
    "LEFT JOIN intake_seizurecase c ON c.id = l.case_id ORDER BY l.entry_id, l.id")
RECONCILE_WALLET = "Reserve (bench, reconciliation)"


def rss_mb():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_child(argv):
    """A fresh process; its JSON line, and its peak RSS from wait4."""
    child = subprocess.Popen([sys.executable, "-m", "bench.export_bench", *argv],
                             stdout=subprocess.PIPE, text=True)
    out = child.stdout.read()
    _pid, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        sys.exit(f"child {argv} failed")
    return json.loads(out.strip().splitlines()[-1]), usage.ru_maxrss / 1024


def anchor(url):
    parts = urlsplit(url)
    started = time.perf_counter()
    child = subprocess.Popen(
        ["psql", "-X", "-q", "-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 5432),
         "-U", parts.username or "postgres", "-d", parts.path.lstrip("/"),
         "-c", f"\\copy ({ANCHOR_SQL}) TO '/dev/null' CSV"])
    _pid, status, usage = os.wait4(child.pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    return time.perf_counter() - started, usage.ru_maxrss / 1024


def child_export(url):
    setup_django(url)
    from custody.exporters import write_accounting_csv
    from custody.models import LedgerLine

    lines = LedgerLine.objects.count()
    base = rss_mb()
    started = time.perf_counter()
    with open(os.devnull, "w", newline="") as out:
        write_accounting_csv(out)
    print(json.dumps({"seconds": time.perf_counter() - started, "base_mb": base,
                      "lines": lines}))


def reconcile_wallet_of(n):
    """The benchmark's reconciliation wallet with n addresses (COPY on first use)."""
    from django.db import connection

    from core.models import User
    from custody.models import ReserveAddress, ReserveWallet

    wallet = ReserveWallet.objects.filter(label=RECONCILE_WALLET).first()
    if wallet is None:
        bank = User.objects.get(username="bench_bank")
        wallet = ReserveWallet.objects.create(
            label=RECONCILE_WALLET, network="regtest", descriptor="wsh(sortedmulti(2,recon))",
            threshold=2, key_count=3, status="ACTIVE", entered_by=bank)
    have = ReserveAddress.objects.filter(wallet=wallet).count()
    if have < n:
        raw = connection.connection
        with raw.cursor() as cursor, cursor.copy(
                "COPY custody_reserveaddress (wallet_id, index, address, script_pubkey, "
                "created_at) FROM STDIN") as copy:
            for i in range(have, n):
                copy.write_row((wallet.pk, i, fake_address(f"recon{wallet.pk}", i),
                                "0020" + fake_txid("rspk", i), "2026-01-01T00:00:00Z"))
        raw.commit()
    return wallet


def child_reconcile(url, n, n_utxos):
    setup_django(url)
    from chain.adapter import Tip, Utxo
    from custody import chainio, reconciliation
    from custody.models import Deposit, ReserveAddress

    wallet = reconcile_wallet_of(n)
    addresses = list(ReserveAddress.objects.filter(wallet=wallet).order_by("index")
                     .values_list("id", "address")[:n])
    step = max(1, n // max(n_utxos, 1))
    picked = addresses[::step][:n_utxos]
    utxos = [Utxo(txid=fake_txid("recon-utxo", i), vout=0, value_sats=10_000 + i,
                  script_pubkey="", address=address, height=800_000, confirmations=6)
             for i, (_pk, address) in enumerate(picked)]
    known = set(Deposit.objects.filter(txid__in=[u.txid for u in utxos])
                .values_list("txid", flat=True))
    Deposit.objects.bulk_create(
        [Deposit(reserve_address_id=pk, txid=u.txid, vout=0, amount_sats=u.value_sats,
                 status=Deposit.Status.ATTRIBUTED, source="STATE_MINING", confirmations=6,
                 block_height=800_000)
         for (pk, _a), u in zip(picked, utxos, strict=True) if u.txid not in known],
        batch_size=5000)
    asked = []
    chainio.tip = lambda: Tip(height=800_005, block_hash="00" * 32, time=0)
    chainio.reserve_utxos = lambda addrs: asked.append(len(addrs)) or list(utxos)
    del addresses, picked
    base = rss_mb()
    started = time.perf_counter()
    run = reconciliation.reconcile_wallet(wallet)
    seconds = time.perf_counter() - started
    assert asked == [n] and len(run.addresses) == n, (asked, len(run.addresses))
    print(json.dumps({"seconds": seconds, "base_mb": base, "addresses": n,
                      "utxos": len(utxos), "node_sats": run.node_sats}))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--addresses", type=int, default=100_000)
    parser.add_argument("--utxos", type=int, default=10_000)
    parser.add_argument("--child", choices=["export", "reconcile"], help=argparse.SUPPRESS)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL",
                                                                  DEFAULT_URL))
    args = parser.parse_args(argv)
    if args.child == "export":
        return child_export(args.database_url)
    if args.child == "reconcile":
        return child_reconcile(args.database_url, args.addresses, args.utxos)
    ensure_database(args.database_url)
    url = ["--database-url", args.database_url]
    anchor_s, anchor_mb = anchor(args.database_url)
    export, export_mb = run_child(["--child", "export", *url])
    recon, recon_mb = run_child(["--child", "reconcile", "--addresses", str(args.addresses),
                                 "--utxos", str(args.utxos), *url])
    print(f"\n{os.cpu_count()} CPUs, one run each, each in its own process")
    print(f"{'':52} {'seconds':>8} {'peak MB':>8} {'held MB':>8} {'ratio':>6}")
    label = "anchor: psql \\copy of the same join to /dev/null"
    print(f"{label:52} {anchor_s:8.2f} {anchor_mb:8.0f}")
    print(f"{'export_accounting, ' + format(export['lines'], ',') + ' ledger lines':52} "
          f"{export['seconds']:8.2f} {export_mb:8.0f} {export_mb - export['base_mb']:8.0f} "
          f"{export['seconds'] / anchor_s:5.1f}x")
    print(f"{'reconcile_wallet, ' + format(recon['addresses'], ',') + ' addresses, ' + format(recon['utxos'], ',') + ' coins':52} "  # noqa: E501
          f"{recon['seconds']:8.2f} {recon_mb:8.0f} {recon_mb - recon['base_mb']:8.0f}")
    print("\npeak MB: the process's peak RSS; held MB: above its RSS once Django was loaded "
          "(what the export or reconciliation itself held at most)")


if __name__ == "__main__":
    main()
