"""Sweeps a test controls to the input: sent from a known coin of the funding wallet, so the
same coin can be spent again by a replacement (RBF) or by a double spend mined in a reorg.
Works on either node (the development chain or Bitcoin Core)."""

from decimal import Decimal

from chain.adapter import address_from_script

SATS = Decimal(100_000_000)


def _btc(sats: int) -> Decimal:
    return Decimal(sats) / SATS


def coin_of_wallet(node, sats: int) -> tuple[str, int, int]:
    """A confirmed coin of `sats` in the funding wallet: (txid, vout, value_sats)."""
    address = node.new_address()
    txid = node.fund(address, sats)
    node.mine(1)
    raw = node.rpc("getrawtransaction", txid, 1)
    for out in raw["vout"]:
        if address_from_script(out["scriptPubKey"]["hex"], "regtest") == address:
            return txid, out["n"], int(out["value"] * SATS)
    raise AssertionError(f"{txid} pays nothing to {address}")


def spend_coin(node, coin: tuple[str, int, int], address: str, fee_sats: int) -> str:
    """Spend the whole coin to address less fee_sats (BIP125-signalling); returns the
    txid. Sent to the node's mempool."""
    return node.rpc("sendrawtransaction", signed_spend(node, coin, address, fee_sats))


def signed_spend(node, coin: tuple[str, int, int], address: str, fee_sats: int) -> str:
    txid, vout, value = coin
    unsigned = node.rpc("createrawtransaction",
                        [{"txid": txid, "vout": vout, "sequence": 0xFFFFFFFD}],
                        [{address: _btc(value - fee_sats)}])
    signed = node.rpc("signrawtransactionwithwallet", unsigned, wallet=node.default_wallet)
    assert signed["complete"], signed
    return signed["hex"]


def double_spend_in_a_reorg(node, *, block_hash: str, coin: tuple[str, int, int],
                            fee_sats: int, extra_blocks: int = 2) -> str:
    """The block is disconnected and a longer branch is mined whose first block spends
    `coin` to another address of the funding wallet (reorg.json, part B). Returns the
    winning transaction's txid."""
    node.rpc("invalidateblock", block_hash)
    winner_hex = signed_spend(node, coin, node.new_address(), fee_sats)
    winner = node.rpc("decoderawtransaction", winner_hex)["txid"]
    node.rpc("generateblock", node.new_address(), [winner_hex])
    node.mine(extra_blocks)
    return winner
