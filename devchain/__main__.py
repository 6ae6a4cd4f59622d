"""``python -m devchain --host 127.0.0.1 --port 18443 --rpcuser U --rpcpassword P [--datadir D]``"""

import argparse
import logging
import sys

from .persist import load_node, save_node
from .rpc import Node
from .server import BANNER, RPCServer


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m devchain", description=BANNER)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=18443)
    parser.add_argument("--rpcuser", required=True)
    parser.add_argument("--rpcpassword", required=True)
    parser.add_argument("--datadir", help="persist the chain here (JSON), in-memory if omitted")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    print("=" * len(BANNER), file=sys.stderr)
    print(BANNER, file=sys.stderr)
    print("=" * len(BANNER), file=sys.stderr)
    node = load_node(args.datadir) if args.datadir else Node()
    on_change = (lambda: save_node(node, args.datadir)) if args.datadir else None
    server = RPCServer((args.host, args.port), node, args.rpcuser, args.rpcpassword, on_change)
    print(f"devchain listening on http://{args.host}:{args.port}/ (regtest, height "
          f"{node.chain.height})", file=sys.stderr)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
