"""Watch N items on the development chain, mine blocks, and print node calls, database
queries and wall time per new block: Qazyna's poller (one pass over new blocks, bulk
matching) beside a careful per-item poller (getrawtransaction for every watched item, sent
as JSON-RPC batches of --batch calls per HTTP request, results written back with one bulk
UPDATE per batch), same run. The watched items are registered through the service
(chain.services.watch_transaction, as custody and intake do), so they carry what the
service writes. The honest figure is the call-count ratio (node work grows with the
calls, whatever the batching); wall time is printed beside it.

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
    os.environ.setdefault("DJANGO_DEBUG", "0")
    import django

    django.setup()
    from django.core.management import call_command

    from chain import registry

    registry._tx.clear()  # the benchmark watches made-up transfers: no custody handler
    call_command("migrate", verbosity=0)


class BatchedPerItemPoller:
    """getrawtransaction for every active watched item, in JSON-RPC batches, and one bulk
    UPDATE per batch: per-item polling as a careful implementer would write it."""

    def __init__(self, adapter, url, batch):
        self.adapter, self.url, self.batch = adapter, url, batch
        self.http_requests = 0

    def _rpc_batch(self, txids):
        import json
        import urllib.request
        from urllib.parse import urlsplit

        parts = urlsplit(self.url)
        body = json.dumps([{"jsonrpc": "1.0", "id": i, "method": "getrawtransaction",
                            "params": [txid, 1]} for i, txid in enumerate(txids)]).encode()
        request = urllib.request.Request(f"{parts.scheme}://{parts.hostname}:{parts.port}/",
                                         data=body, headers={"Content-Type": "application/json"})
        if parts.username:
            import base64

            token = base64.b64encode(f"{parts.username}:{parts.password}".encode()).decode()
            request.add_header("Authorization", f"Basic {token}")
        with urllib.request.urlopen(request, timeout=60) as reply:  # noqa: S310 - local node
            answers = json.loads(reply.read())
        self.http_requests += 1
        self.adapter.calls += len(txids)  # each is a call the node answers
        return {a["id"]: a.get("result") for a in answers}

    def poll(self):
        from chain.models import ACTIVE_TX_STATES, WatchedTransaction

        tip = self.adapter.tip()
        active = list(WatchedTransaction.objects.filter(state__in=ACTIVE_TX_STATES)
                      .only("id", "txid", "block_hash", "block_height"))
        for start in range(0, len(active), self.batch):
            chunk = active[start:start + self.batch]
            results = self._rpc_batch([w.txid for w in chunk])
            changed = []
            for i, wtx in enumerate(chunk):
                raw = results.get(i)
                if not raw:
                    continue  # unknown txid: still pending
                confs = int(raw.get("confirmations") or 0)
                height = tip.height - confs + 1 if confs > 0 else None
                block_hash = raw.get("blockhash", "") if height else ""
                if (wtx.block_hash, wtx.block_height) != (block_hash, height):
                    wtx.block_hash, wtx.block_height = block_hash, height
                    changed.append(wtx)
            WatchedTransaction.objects.bulk_update(changed, ["block_hash", "block_height"],
                                                   batch_size=self.batch)


def measure(label, fn, adapter):
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    reset_queries()  # the log is a bounded deque: full after registering 10,000 items
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
    parser.add_argument("--batch", type=int, default=1000,
                        help="calls per JSON-RPC batch of the per-item poller")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    args = parser.parse_args(argv)

    tmp = tempfile.mkdtemp(prefix="qazyna-bench-")
    setup_django(args.database_url or f"sqlite:///{tmp}/bench.sqlite3")

    from chain import watcher
    from chain.adapter import ChainAdapter
    from chain.models import TxState, WatchedTransaction
    from chain.services import watch_transaction
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
        print(f"registering {len(real) + len(synthetic)} watched transactions through the "
              "service…", file=sys.stderr)
        for i, txid in enumerate(real + synthetic):
            watch_transaction(txid=txid, purpose="transfer", ref=str(i), network="regtest")
        watcher.poll(adapter)  # first pass: our view of the tip
        # real txs confirmed before the poller started are the tracker's job; mark them
        # pending so both pollers look at the same 10,000 items
        naive = BatchedPerItemPoller(adapter, chain.url, args.batch)
        rows = []
        for n in range(args.blocks):
            fresh = [chain.fund(chain.new_address(), 50_000) for _ in range(20)]
            for i, txid in enumerate(fresh):
                watch_transaction(txid=txid, purpose="transfer", ref=f"b{n}-{i}",
                                  network="regtest")
            chain.mine(1)
            rows.append({"block": n + 1, **measure("qazyna", lambda: watcher.poll(adapter),
                                                   adapter)})
            requests_before = naive.http_requests
            rows.append({"block": n + 1, **measure("per-item", naive.poll, adapter),
                         "http": naive.http_requests - requests_before})
        confirming = WatchedTransaction.objects.filter(
            state__in=[TxState.CONFIRMING, TxState.CONFIRMED]).count()

    watched = WatchedTransaction.objects.count()
    print(f"\nwatched transactions: {watched} ({args.real} real + synthetic, +20 per block, "
          "registered through the service)")
    print(f"{'block':>5} {'poller':>9} {'node calls':>11} {'HTTP reqs':>10} {'db queries':>11} "
          f"{'wall s':>8}")
    for row in rows:
        http = row.get("http", row["node_calls"])
        print(f"{row['block']:>5} {row['poller']:>9} {row['node_calls']:>11} {http:>10} "
              f"{row['db_queries']:>11} {row['wall_s']:>8.3f}")
    ours = [r for r in rows if r["poller"] == "qazyna"]
    theirs = [r for r in rows if r["poller"] == "per-item"]
    calls = sum(r["node_calls"] for r in theirs) / max(1, sum(r["node_calls"] for r in ours))
    wall = sum(r["wall_s"] for r in theirs) / sum(r["wall_s"] for r in ours)
    print(f"\nper-item (batched {args.batch}) / Qazyna: node calls {calls:,.0f}x, "
          f"wall time {wall:.1f}x")
    print(f"confirming/confirmed seen by Qazyna's poller: {confirming}")

if __name__ == "__main__":
    main()
