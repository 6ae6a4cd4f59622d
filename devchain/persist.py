"""Optional persistence for ``--datadir``: the node is replayed from a JSON journal.

The journal records the state-changing RPC calls; on start they are replayed against a fresh
chain. Block hashes differ from the previous run (block times change) — good enough for a
development chain. Not implemented yet beyond an in-memory fallback.
"""

from .rpc import Node


def load_node(datadir):
    return Node()


def save_node(node, datadir):
    return None
