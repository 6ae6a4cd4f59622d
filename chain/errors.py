"""What can go wrong when talking to the node, in Qazyna's words (not bitcoinlib's)."""


class ChainError(Exception):
    """The node answered, but not in a way Qazyna can use."""


class NodeUnavailable(ChainError):
    """Down, timing out, still warming up, busy: try again later."""


class NodeMisconfigured(ChainError):
    """Trying again will not help until an operator changes the configuration: the node
    refuses our credentials (HTTP 401) or our address (403), is on another network, or is
    the development chain where settings forbid it. Tasks do not retry it; the watcher
    records it on the ChainCursor and /health/ shows it."""


class ScanInProgress(NodeUnavailable):
    """scantxoutset refused (-8): Bitcoin Core runs one UTXO-set scan at a time."""


class UnknownTransaction(ChainError):
    def __init__(self, txid, message="No such mempool or blockchain transaction"):
        super().__init__(f"{txid}: {message}")
        self.txid = txid


class TransactionRejected(ChainError):
    """The node refused a transaction; code and message are the node's own."""

    def __init__(self, code, message):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class DevchainRefused(NodeMisconfigured):
    """Settings forbid the development chain (production) and the node is one."""
