"""Throwaway test signers: keys standing in for hardware wallets. Tests only."""

from functools import cache

from embit import bip32
from embit.networks import NETWORKS

ORIGIN_PATH = "m/48h/1h/0h/2h"


@cache
def signer(name):
    """A deterministic HD root for a named test signer (never a real key)."""
    seed = (name.encode() * 32)[:32]
    return bip32.HDKey.from_seed(seed, version=NETWORKS["test"]["xprv"])


def key_expression(name):
    """[fingerprint/48h/1h/0h/2h]tpub… of a test signer: what an admin would paste."""
    root = signer(name)
    account = root.derive(ORIGIN_PATH)
    tpub = account.to_public().to_base58(version=NETWORKS["test"]["xpub"])
    return f"[{root.my_fingerprint.hex()}/48h/1h/0h/2h]{tpub}"


def private_extended(name):
    return signer(name).to_base58(version=NETWORKS["test"]["xprv"])
