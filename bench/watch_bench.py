"""Watch N items on the development chain, mine blocks, and print node calls, database
queries and wall time per new block: Qazyna's poller (one pass over new blocks, bulk
matching) beside a naive poller (one getrawtransaction per watched item), same run.

    .venv/bin/python -m bench.watch_bench --items 10000 --real 300 --blocks 3

Runs against a devchain it starts itself and a throwaway SQLite database (or DATABASE_URL).
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def setup_django(database_url):
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("CELERY_BROKER_URL", "memory://")
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "0"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    from chain import registry

    registry._tx.clear()  # the benchmark watches made-up transfers: no custody handler
    call_command("migrate", verbosity=0)


class NaivePoller:
    """One getrawtransaction per watched item per poll, one UPDATE per item."""

    def __init__(self, adapter):
        self.adapter = adapter

    def poll(self):
        from chain.models import ACTIVE_TX_STATES, WatchedTransaction

        tip = self.adapter.tip()
        for wtx in WatchedTransaction.objects.filter(state__in=ACTIVE_TX_STATES):
            try:
                raw = self.adapter.call("getrawtransaction", wtx.txid, 1)
            except Exception:  # noqa: BLE001 - unknown txid: still pending
                continue
            confs = int(raw.get("confirmations") or 0)
            height = tip.height - confs + 1 if confs > 0 else None
            WatchedTransaction.objects.filter(pk=wtx.pk).update(
                block_hash=raw.get("blockhash", "") if height else "", block_height=height)


def measure(label, fn, adapter):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    calls = adapter.calls
    start = time.perf_counter()
    with CaptureQueriesContext(connection) as queries:
        fn()
    return {"poller": label, "node_calls": adapter.calls - calls, "db_queries": len(queries),
            "wall_s": time.perf_counter() - start}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000, help="watched transactions")
    parser.add_argument("--real", type=int, default=300,
                        help="how many of them are real devchain transactions")
    parser.add_argument("--blocks", type=int, default=3, help="blocks to mine and measure")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    args = parser.parse_args(argv)

    tmp = tempfile.mkdtemp(prefix="qazyna-bench-")
    setup_django(args.database_url or f"sqlite:///{tmp}/bench.sqlite3")

    from chain import watcher
    from chain.adapter import ChainAdapter
    from chain.models import TxState, WatchedTransaction
    from devchain.testing import DevChainServer

    with DevChainServer() as chain:
        chain.mine(130)
        adapter = ChainAdapter(url=chain.url, network="regtest", timeout=30)
        print(f"funding {args.real} real transactions…", file=sys.stderr)
        real = []
        for i in range(args.real):
            real.append(chain.fund(chain.new_address(), 100_000))
            if i % 20 == 19:
                chain.mine(1)  # the devchain wallet spends confirmed coins only
        synthetic = [f"{i:064x}" for i in range(1, args.items - len(real) + 1)]
        WatchedTransaction.objects.all().delete()
        WatchedTransaction.objects.bulk_create(
            [WatchedTransaction(txid=t, purpose="transfer", ref=str(i), network="regtest")
             for i, t in enumerate(real + synthetic)], batch_size=2000)
        watcher.poll(adapter)  # first pass: our view of the tip
        # real txs confirmed before the poller started are the tracker's job; mark them
        # pending so both pollers look at the same 10,000 items
        naive = NaivePoller(adapter)
        rows = []
        for n in range(args.blocks):
            fresh = [chain.fund(chain.new_address(), 50_000) for _ in range(20)]
            WatchedTransaction.objects.bulk_create(
                [WatchedTransaction(txid=t, purpose="transfer", ref=f"b{n}-{i}",
                                    network="regtest") for i, t in enumerate(fresh)])
            chain.mine(1)
            rows.append({"block": n + 1, **measure("qazyna", lambda: watcher.poll(adapter),
                                                   adapter)})
            rows.append({"block": n + 1, **measure("naive", naive.poll, adapter)})
        confirming = WatchedTransaction.objects.filter(
            state__in=[TxState.CONFIRMING, TxState.CONFIRMED]).count()

    watched = WatchedTransaction.objects.count()
    print(f"\nwatched transactions: {watched} ({args.real} real + synthetic, +20 per block)")
    print(f"{'block':>5} {'poller':>8} {'node calls':>11} {'db queries':>11} {'wall s':>8}")
    for row in rows:
        print(f"{row['block']:>5} {row['poller']:>8} {row['node_calls']:>11} "
              f"{row['db_queries']:>11} {row['wall_s']:>8.3f}")
    print(f"\nconfirming/confirmed seen by Qazyna's poller: {confirming}")


if __name__ == "__main__":
    main()
