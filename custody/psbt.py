"""The offline signing ceremony's pure parts, over embit (PSBT v0, BIP 174): build the unsigned
PSBT of a transfer, hash its payload, check a signed copy against the approved one, merge the
partial signatures and finalize. No network, no database, no private keys.

embit's own combine checks nothing and it does not verify partial signatures, so every
uploaded copy is compared with the approved transaction by txid and each signature is
verified here against its public key and the input's sighash. Each step works on a fresh
parse of the base64: PSBT scopes made from one Transaction can share mutable state.
"""

import hashlib
import json
import math
from dataclasses import dataclass

from embit import ec
from embit.descriptor import Descriptor
from embit.finalizer import finalize_psbt, parse_multisig
from embit.psbt import PSBT, DerivationPath
from embit.script import Script
from embit.transaction import SIGHASH, Transaction, TransactionInput, TransactionOutput

from core.bitcoin import embit_network
from core.errors import ErrorCode, ValidationFailed

# P2WSH outputs below this are dust for Bitcoin Core's relay policy.
P2WSH_DUST_SATS = 330
MAX_PSBT_BYTES = 512 * 1024
SEQUENCE_FINAL_RBF_OFF = 0xFFFFFFFD  # signals RBF so a stuck transfer can be fee-bumped


@dataclass(frozen=True)
class SpendableOutput:
    """A custody UTXO as the chain reported it."""

    txid: str
    vout: int
    value_sats: int
    script_pubkey: str  # hex
    prev_tx_hex: str | None = None  # the whole previous transaction, for non_witness_utxo


@dataclass(frozen=True)
class BuiltTransfer:
    psbt_base64: str
    txid: str
    payload: dict
    payload_hash: str
    input_total_sats: int
    amount_sats: int
    fee_sats: int
    vsize: int


def _derived(descriptor_text, index):
    return Descriptor.from_string(descriptor_text.split("#")[0]).derive(index)


def estimate_vsize(*, input_count, threshold, key_count, output_count=1):
    """Virtual size of a P2WSH sortedmulti spend with DER signatures at their largest."""
    witness_script = 3 + 34 * key_count
    witness = 1 + 1 + threshold * 73 + (1 if witness_script < 253 else 3) + witness_script
    base = 4 + 4 + 1 + 1 + input_count * (32 + 4 + 1 + 4) + output_count * (8 + 1 + 34)
    weight = base * 4 + 2 + input_count * witness
    return math.ceil(weight / 4)


def payload_of(*, inputs, outputs, fee_sats, txid, network):
    """The exact thing the quorum approves. Canonical: sorted keys, no spaces."""
    return {
        "network": network,
        "txid": txid,
        "inputs": [{"txid": i["txid"], "vout": i["vout"], "value_sats": i["value_sats"]}
                   for i in inputs],
        "outputs": [{"address": o["address"], "script_pubkey": o["script_pubkey"],
                     "value_sats": o["value_sats"]} for o in outputs],
        "fee_sats": fee_sats,
    }


def payload_hash(payload):
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def build_transfer_psbt(*, utxos, custody_descriptor, custody_index, destination_address,
                        destination_script_pubkey, fee_rate_sat_vb, threshold, key_count,
                        network, reserve_descriptor=None, reserve_index=None):
    """An unsigned PSBT spending every custody UTXO to one reserve address.

    Each input carries witness_utxo, non_witness_utxo (when the previous transaction is
    known), the witness script and the bip32 derivations of the custody keys at the case's
    index, which is what hardware signers need."""
    if not utxos:
        raise ValidationFailed("The case's custody address holds nothing to transfer.",
                               code=ErrorCode.NOTHING_TO_TRANSFER)
    derived = _derived(custody_descriptor, custody_index)
    custody_script = derived.script_pubkey()
    utxos = sorted(utxos, key=lambda u: (u.txid, u.vout))
    for utxo in utxos:
        if utxo.script_pubkey != custody_script.data.hex():
            raise ValidationFailed(f"{utxo.txid}:{utxo.vout} is not at the custody address.",
                                   code=ErrorCode.INVALID)
    total = sum(u.value_sats for u in utxos)
    vsize = estimate_vsize(input_count=len(utxos), threshold=threshold, key_count=key_count)
    fee = vsize * fee_rate_sat_vb
    amount = total - fee
    if amount < P2WSH_DUST_SATS:
        raise ValidationFailed(f"After a fee of {fee} sats, {amount} sats is dust.",
                               code=ErrorCode.NOTHING_TO_TRANSFER)
    destination = Script(bytes.fromhex(destination_script_pubkey))
    tx = Transaction(
        version=2, locktime=0,
        vin=[TransactionInput(bytes.fromhex(u.txid), u.vout, sequence=SEQUENCE_FINAL_RBF_OFF)
             for u in utxos],
        vout=[TransactionOutput(amount, destination)],
    )
    psbt = PSBT(tx)
    _describe_inputs(psbt, utxos, derived)
    for scope in psbt.outputs:
        scope.unknown = {}
        if reserve_descriptor is not None:
            _describe_script(scope, _derived(reserve_descriptor, reserve_index))
    psbt.unknown = {}
    psbt_base64 = psbt.to_string()
    txid = tx.txid().hex()
    inputs = [{"txid": u.txid, "vout": u.vout, "value_sats": u.value_sats} for u in utxos]
    outputs = [{"address": destination_address, "script_pubkey": destination_script_pubkey,
                "value_sats": amount}]
    payload = payload_of(inputs=inputs, outputs=outputs, fee_sats=fee, txid=txid,
                         network=network)
    return BuiltTransfer(psbt_base64=psbt_base64, txid=txid, payload=payload,
                         payload_hash=payload_hash(payload), input_total_sats=total,
                         amount_sats=amount, fee_sats=fee, vsize=vsize)


def _describe_script(scope, derived):
    """What a hardware signer needs of a P2WSH multisig input or output: its witness script
    and the bip32 derivations of its keys."""
    scope.witness_script = derived.witness_script()
    scope.bip32_derivations = {
        k.get_public_key(): DerivationPath(k.origin.fingerprint, k.origin.derivation)
        for k in derived.keys}


def _describe_inputs(psbt, utxos, derived):
    """Each input's witness_utxo, non_witness_utxo (when the previous transaction is known,
    checked against its txid), witness script and key derivations."""
    custody_script = derived.script_pubkey()
    for scope, utxo in zip(psbt.inputs, utxos, strict=True):
        scope.unknown = {}
        scope.witness_utxo = TransactionOutput(utxo.value_sats, custody_script)
        if utxo.prev_tx_hex:
            prev = Transaction.from_string(utxo.prev_tx_hex)
            if prev.txid().hex() != utxo.txid:
                raise ValidationFailed("The previous transaction does not match its txid.")
            scope.non_witness_utxo = prev
        _describe_script(scope, derived)


def parse_psbt(text):
    """A PSBT from base64 text or raw bytes (as a signer's file holds it), or 400."""
    if isinstance(text, bytes):
        raw = text
        if raw.startswith(b"psbt\xff"):
            try:
                return PSBT.parse(raw)
            except Exception as exc:  # noqa: BLE001 - embit raises many kinds
                raise ValidationFailed(f"Not a valid PSBT: {exc}",
                                       code=ErrorCode.INVALID_PSBT) from None
        try:
            text = raw.decode("ascii")
        except UnicodeDecodeError:
            raise ValidationFailed("Not a PSBT (neither binary nor base64).",
                                   code=ErrorCode.INVALID_PSBT) from None
    text = (text or "").strip()
    if not text or len(text) > MAX_PSBT_BYTES:
        raise ValidationFailed("The PSBT is empty or too large.", code=ErrorCode.INVALID_PSBT)
    try:
        return PSBT.from_string(text)
    except Exception as exc:  # noqa: BLE001
        raise ValidationFailed(f"Not a valid PSBT: {exc}", code=ErrorCode.INVALID_PSBT) from None


def psbt_txid(psbt):
    return psbt.tx.txid().hex()


def payload_of_psbt(psbt_base64, network):
    """The payload recomputed from a PSBT itself: its inputs with the values their
    witness_utxo declares, its outputs, the fee they leave and its txid. Compared with the
    approved payload hash, it binds what is signed to what the quorum approved."""
    psbt = parse_psbt(psbt_base64)
    inputs, total = [], 0
    for vin, scope in zip(psbt.tx.vin, psbt.inputs, strict=True):
        if scope.witness_utxo is None:
            raise ValidationFailed("An input has no witness_utxo: its value is unknown.",
                                   code=ErrorCode.PSBT_MISMATCH)
        value = scope.witness_utxo.value
        total += value
        inputs.append({"txid": vin.txid.hex(), "vout": vin.vout, "value_sats": value})
    outputs = [{"address": out.script_pubkey.address(embit_network(network)),
                "script_pubkey": out.script_pubkey.data.hex(), "value_sats": out.value}
               for out in psbt.tx.vout]
    fee = total - sum(o["value_sats"] for o in outputs)
    return payload_of(inputs=inputs, outputs=outputs, fee_sats=fee, txid=psbt_txid(psbt),
                      network=network)


def final_txid(final_tx_hex):
    """The txid of a finalized transaction (witnesses do not change it)."""
    return Transaction.from_string(final_tx_hex).txid().hex()


@dataclass(frozen=True)
class VerifiedSignature:
    input_index: int
    pubkey: str  # hex SEC
    fingerprint: str  # hex, of the custody key's origin ("" when unknown)


def verify_signed_copy(*, approved_base64, signed, custody_descriptor, custody_index):
    """Check a signed copy against the approved PSBT and return its valid signatures.

    Refused (400) unless: it is the same transaction (unsigned txid), every partial signature
    is from a key of the custody descriptor at the case's index, signs SIGHASH_ALL, and
    verifies against the approved input's sighash. Signatures are checked on the approved
    PSBT (our witness_utxo values and scripts), never on what the upload claims."""
    approved = parse_psbt(approved_base64)
    if psbt_txid(signed) != psbt_txid(approved):
        raise ValidationFailed(
            "This PSBT is not the approved transaction: an input, output, amount or fee "
            "differs.", code=ErrorCode.PSBT_MISMATCH,
            approved_txid=psbt_txid(approved), uploaded_txid=psbt_txid(signed))
    derived = _derived(custody_descriptor, custody_index)
    allowed = {k.get_public_key().sec(): k.origin.fingerprint.hex() for k in derived.keys}
    found = []
    for index, (ours, theirs) in enumerate(zip(approved.inputs, signed.inputs, strict=True)):
        if theirs.witness_utxo is not None and (
                theirs.witness_utxo.value != ours.witness_utxo.value
                or theirs.witness_utxo.script_pubkey != ours.witness_utxo.script_pubkey):
            raise ValidationFailed(f"Input {index} claims a different amount or script.",
                                   code=ErrorCode.PSBT_MISMATCH)
        _, script_keys = parse_multisig(ours.witness_script)
        script_secs = {k.sec() for k in script_keys}
        for pub, sig in theirs.partial_sigs.items():
            sec = pub.sec()
            if sec not in allowed or sec not in script_secs:
                raise ValidationFailed(
                    f"Input {index} has a signature from a key outside the custody wallet.",
                    code=ErrorCode.SIGNATURE_FOREIGN_KEY, pubkey=sec.hex())
            if not sig or sig[-1] != SIGHASH.ALL:
                raise ValidationFailed(f"Input {index}: only SIGHASH_ALL signatures are taken.",
                                       code=ErrorCode.SIGNATURE_INVALID, pubkey=sec.hex())
            try:
                signature = ec.Signature.parse(sig[:-1])
                valid = pub.verify(signature, approved.sighash(index, sighash=SIGHASH.ALL))
            except Exception:  # noqa: BLE001 - a malformed DER signature is just invalid
                valid = False
            if not valid:
                raise ValidationFailed(f"Input {index}: a signature does not verify.",
                                       code=ErrorCode.SIGNATURE_INVALID, pubkey=sec.hex())
            found.append(VerifiedSignature(index, sec.hex(), allowed[sec]))
        if theirs.final_scriptwitness or theirs.final_scriptsig:
            # A finalized copy: we only take partial signatures, which we can check one by one.
            raise ValidationFailed("Upload the PSBT with partial signatures, not finalized.",
                                   code=ErrorCode.INVALID_PSBT)
    return found


def merge_signatures(*, base_base64, signed):
    """The base PSBT with the signed copy's partial signatures added (already verified)."""
    base = parse_psbt(base_base64)
    for ours, theirs in zip(base.inputs, signed.inputs, strict=True):
        for pub, sig in theirs.partial_sigs.items():
            ours.partial_sigs[pub] = sig
    return base.to_string()


def signature_counts(psbt_base64):
    """Per input, how many distinct custody keys have signed."""
    psbt = parse_psbt(psbt_base64)
    return [len(inp.partial_sigs) for inp in psbt.inputs]


def finalize(psbt_base64, threshold):
    """The signed raw transaction hex when every input has threshold signatures, else None."""
    psbt = parse_psbt(psbt_base64)
    if any(len(inp.partial_sigs) < threshold for inp in psbt.inputs):
        return None
    tx = finalize_psbt(psbt)
    if tx is None:
        return None
    return tx.serialize().hex()
