"""Spend from a custody multisig address with the throwaway test signers (tests only)."""

from embit.descriptor import Descriptor
from embit.script import Script, Witness
from embit.transaction import SIGHASH, Transaction, TransactionInput, TransactionOutput

from tests.support.keys import ORIGIN_PATH, signer


def spend_custody(*, wallet, index, utxos, dest_script_hex, fee_sats=2000,
                  signers=("c1", "c2"), sequence=0xFFFFFFFD):
    """A signed raw tx (hex) spending utxos [(txid, vout, value_sats)] of the custody
    address at index of wallet (a custody.CustodyWallet) to one output."""
    desc = Descriptor.from_string(wallet.descriptor.split("#")[0]).derive(index)
    witness_script = desc.witness_script()
    total = sum(v for _, _, v in utxos)
    tx = Transaction(
        vin=[TransactionInput(bytes.fromhex(t), n, sequence=sequence) for t, n, _ in utxos],
        vout=[TransactionOutput(total - fee_sats, Script(bytes.fromhex(dest_script_hex)))],
    )
    keys = [signer(name).derive(f"{ORIGIN_PATH}/0/{index}").key for name in signers]
    for i, (_, _, value) in enumerate(utxos):
        digest = tx.sighash_segwit(i, witness_script, value)
        sigs = sorted((k.get_public_key().sec(), k.sign(digest).serialize()
                        + bytes([SIGHASH.ALL])) for k in keys)
        tx.vin[i].witness = Witness([b""] + [s for _, s in sigs] + [witness_script.data])
    return tx.serialize().hex()
