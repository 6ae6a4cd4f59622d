"""Test helpers: a JSON-RPC client with funding and mining helpers that works against any node
speaking Bitcoin Core's RPC (the devchain here, a real regtest bitcoind in
tests/fixtures/bitcoind.py), and a devchain RPC server in a background thread.

    with DevChainServer() as chain:
        address = chain.rpc("getnewaddress", wallet="miner")
        chain.mine(101)
        txid = chain.fund(address, 150_000_000)
"""

import base64
import json
import urllib.error
import urllib.request
from decimal import Decimal

from . import encoding
from .rpc import Node
from .server import RPCServer, serve_in_thread


class RPCFailure(Exception):
    def __init__(self, code, message, status):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


class RPCClient:
    """Raw JSON-RPC over HTTP plus the few operations tests need: a funding wallet that mines
    and sends. Subclasses provide ``host``, ``port`` and the credentials."""

    kind = "node"
    host = "127.0.0.1"
    rpcuser = "qazyna"
    rpcpassword = "qazyna"
    default_wallet = "miner"
    _id = 0

    @property
    def port(self) -> int:
        raise NotImplementedError

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return self.url_with()

    def url_with(self, *, user=None, password=None) -> str:
        """The RPC URL with credentials (other ones, to play a misconfigured client)."""
        user = self.rpcuser if user is None else user
        password = self.rpcpassword if password is None else password
        return f"http://{user}:{password}@{self.host}:{self.port}"

    # --- raw HTTP -------------------------------------------------------------------------

    def post(self, body: bytes, path="/", auth=None, method="POST"):
        """Send a raw request; returns (status, headers, body bytes)."""
        request = urllib.request.Request(self.base_url + path, data=body, method=method)
        if auth is None:
            auth = f"{self.rpcuser}:{self.rpcpassword}"
        if auth:
            token = base64.b64encode(auth.encode()).decode()
            request.add_header("Authorization", f"Basic {token}")
        request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, response.headers, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers, exc.read()

    def rpc(self, method, *params, wallet=None):
        """Call an RPC; returns the result (amounts as Decimal) or raises RPCFailure."""
        self._id += 1
        body = json.dumps({"jsonrpc": "1.0", "method": method, "params": list(params),
                           "id": self._id}, default=_json_default).encode()
        path = f"/wallet/{wallet}" if wallet else "/"
        status, _, raw = self.post(body, path)
        if not raw:
            raise RPCFailure(None, f"HTTP {status} with an empty body", status)
        reply = encoding.loads(raw.decode())
        if reply.get("error"):
            raise RPCFailure(reply["error"]["code"], reply["error"]["message"], status)
        return reply["result"]

    # --- helpers --------------------------------------------------------------------------

    def _ensure_wallet(self):
        if self.default_wallet not in self.rpc("listwallets"):
            self.rpc("createwallet", self.default_wallet)
        return self.default_wallet

    def new_address(self) -> str:
        return self.rpc("getnewaddress", wallet=self._ensure_wallet())

    def mine(self, n=1, address=None):
        """Mine ``n`` blocks (to the funding wallet unless ``address``); returns block hashes."""
        if address is None:
            address = self.new_address()
        return self.rpc("generatetoaddress", n, address)

    def fund(self, address, sats: int) -> str:
        """Send ``sats`` from the funding wallet (mining 101 blocks first if it is empty)."""
        wallet = self._ensure_wallet()
        if self.rpc("getbalance", wallet=wallet) * 100_000_000 < sats + 100_000:
            self.mine(101)
        amount = Decimal(sats) / 100_000_000
        return self.rpc("sendtoaddress", address, amount, wallet=wallet)


class DevChainServer(RPCClient):
    """A devchain on a free loopback port. ``url`` embeds the credentials."""

    kind = "devchain"

    def __init__(self, rpcuser="qazyna", rpcpassword="qazyna", host="127.0.0.1",
                 wallet="miner"):
        self.rpcuser = rpcuser
        self.rpcpassword = rpcpassword
        self.host = host
        self.default_wallet = wallet
        self.node = None
        self._server = None
        self._thread = None
        self._id = 0

    # --- lifecycle ------------------------------------------------------------------------

    def start(self):
        self.node = Node()
        self._server = RPCServer((self.host, 0), self.node, self.rpcuser, self.rpcpassword)
        self._thread = serve_in_thread(self._server)
        return self

    def stop(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)
            self._server = None

    def reset(self):
        """Replace the chain and wallets with a fresh regtest chain (same port)."""
        self.node = Node()
        self._server.node = self.node

    def restart_without_mempool(self):
        """What a restart of Core with -persistmempool=0 and -walletbroadcast=0 does to the
        mempool: every transaction in it is dropped, never mined (the chain and wallets
        stay)."""
        chain = self.node.chain
        with chain.lock:
            for tid in list(chain.mempool):
                chain._remove_entry(tid)
        return self

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def _ensure_wallet(self):
        if self.default_wallet not in self.node.wallets:
            self.rpc("createwallet", self.default_wallet)
        return self.default_wallet


def _json_default(value):
    if isinstance(value, Decimal):
        return float(value) if value != value.to_integral_value() else int(value)
    raise TypeError(type(value).__name__)
