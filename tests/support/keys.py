"""Throwaway test signers: the development keys of tools/demo_signer (one copy of them).
They stand in for hardware wallets; tests and demo tooling only."""

from embit.networks import NETWORKS

from tools.demo_signer import ORIGIN_PATH, key_expression, signer_root

signer = signer_root

__all__ = ["ORIGIN_PATH", "key_expression", "private_extended", "signer"]


def private_extended(name):
    return signer_root(name).to_base58(version=NETWORKS["test"]["xprv"])
