"""devchain: a regtest development chain that speaks Bitcoin Core's JSON-RPC.

DEVELOPMENT CHAIN — regtest only, not a Bitcoin node. Used by the project's tests and local
development in place of bitcoind (which cannot be installed here).
"""

__all__ = ["__version__"]
__version__ = "0.1.0"
