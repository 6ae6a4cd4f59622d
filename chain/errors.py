"""What can go wrong when talking to the node, in Qazyna's words (not bitcoinlib's)."""


class ChainError(Exception):
    """The node answered, but not in a way Qazyna can use."""


class NodeUnavailable(ChainError):
    """Down, timing out, refusing our credentials, still warming up: try again later."""


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


class DevchainRefused(ChainError):
    """Settings forbid the development chain (production) and the node is one."""
