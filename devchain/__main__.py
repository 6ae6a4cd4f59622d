"""``python -m devchain --host 127.0.0.1 --port 18443 --rpcuser U --rpcpassword P``

The chain lives in memory only; ``--datadir`` (persistence) is not supported and is refused.
"""

import argparse
import logging
import sys

from .rpc import Node
from .server import BANNER, RPCServer


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m devchain", description=BANNER)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=18443)
    parser.add_argument("--rpcuser", required=True)
    parser.add_argument("--rpcpassword", required=True)
    parser.add_argument("--datadir", help="not supported: the devchain is in-memory only")
    args = parser.parse_args(argv)
    if args.datadir is not None:
        parser.error("--datadir is not supported: the devchain keeps its chain in memory only "
                     "and starts from a fresh regtest chain every time")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    print("=" * len(BANNER), file=sys.stderr)
    print(BANNER, file=sys.stderr)
    print("=" * len(BANNER), file=sys.stderr)
    node = Node()
    server = RPCServer((args.host, args.port), node, args.rpcuser, args.rpcpassword)
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
