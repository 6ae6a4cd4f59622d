"""Input script verification for the standard script types the project uses.

Supported: P2WPKH, P2WSH (k-of-n multisig, single key), P2PKH, P2SH (multisig, and wrapping
P2WPKH/P2WSH), P2TR key path. Failures raise ScriptError carrying Core's script error text.
"""

import hashlib

from embit import ec
from embit.script import Script

from .tx import iter_script

SIGHASH_ALL = 1
ERR_NULLFAIL = "Signature must be zero for failed CHECK(MULTI)SIG operation"
ERR_EVAL_FALSE = "Script evaluated without error but finished with a false/empty top stack element"
ERR_WITNESS_MISMATCH = "Witness program hash mismatch"
ERR_WITNESS_MALLEATED = "Witness requires empty scriptSig"
ERR_WITNESS_P2SH = "Witness requires only-redeemscript scriptSig"
ERR_NULLDUMMY = "Dummy CHECKMULTISIG argument must be zero"
ERR_WITNESS_LENGTH = "Witness program was passed an empty witness"
ERR_STACK = "Operation not valid with the current stack size"
ERR_EQUALVERIFY = "Script failed an OP_EQUALVERIFY operation"
ERR_SCHNORR = "Invalid Schnorr signature"
ERR_DER = "Non-canonical DER signature"
ERR_UNSUPPORTED = "Script type not supported by the development chain"


class ScriptError(Exception):
    pass


def hash160(data: bytes) -> bytes:
    from embit.hashes import hash160 as _h160

    return _h160(data)


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _ecdsa_ok(pubkey: bytes, sig_with_type: bytes, sighash_fn) -> bool:
    if not sig_with_type:
        return False
    try:
        sig = ec.Signature.parse(sig_with_type[:-1])
        key = ec.PublicKey.parse(pubkey)
    except Exception:
        return False
    digest = sighash_fn(sig_with_type[-1])
    try:
        return key.verify(sig, digest)
    except Exception:
        return False


def _check_sig(pubkey, sig, sighash_fn):
    if _ecdsa_ok(pubkey, sig, sighash_fn):
        return
    if sig:
        raise ScriptError(ERR_NULLFAIL)
    raise ScriptError(ERR_EVAL_FALSE)


def parse_multisig(script: bytes):
    """(m, [pubkeys]) when ``script`` is OP_m <keys> OP_n OP_CHECKMULTISIG, else None."""
    try:
        ops = list(iter_script(script))
    except ValueError:
        return None
    if len(ops) < 4 or ops[-1] != (0xAE, None):
        return None
    m_op, n_op = ops[0][0], ops[-2][0]
    if not (0x51 <= m_op <= 0x60 and 0x51 <= n_op <= 0x60):
        return None
    keys = [push for _, push in ops[1:-2]]
    if any(k is None for k in keys) or len(keys) != n_op - 0x50:
        return None
    return m_op - 0x50, keys


def _check_multisig(m, keys, stack_items, sighash_fn):
    """Core's CHECKMULTISIG with NULLDUMMY and NULLFAIL; stack_items includes the dummy."""
    if len(stack_items) != m + 1:
        raise ScriptError(ERR_STACK)
    if stack_items[0] != b"":
        raise ScriptError(ERR_NULLDUMMY)
    sigs = list(stack_items[1:])
    key_i = 0
    ok = True
    for sig in sigs:
        while key_i < len(keys) and not _ecdsa_ok(keys[key_i], sig, sighash_fn):
            key_i += 1
        if key_i >= len(keys):
            ok = False
            break
        key_i += 1
    if ok:
        return
    if any(sigs):
        raise ScriptError(ERR_NULLFAIL)
    raise ScriptError(ERR_EVAL_FALSE)


def _run_witness_script(script: bytes, stack, sighash_fn):
    multisig = parse_multisig(script)
    if multisig is not None:
        _check_multisig(multisig[0], multisig[1], stack, sighash_fn)
        return
    if len(script) in (35, 67) and script[-1] == 0xAC and script[0] == len(script) - 2:
        if len(stack) != 1:
            raise ScriptError(ERR_STACK)
        _check_sig(script[1:-1], stack[0], sighash_fn)
        return
    raise ScriptError(ERR_UNSUPPORTED)


def _verify_witness_program(tx, index, version, program, witness, value, spent_scripts,
                            spent_values):
    if version == 0 and len(program) == 20:
        if len(witness) != 2:
            raise ScriptError(ERR_STACK if witness else ERR_WITNESS_LENGTH)
        sig, pubkey = witness
        if hash160(pubkey) != program:
            raise ScriptError(ERR_EQUALVERIFY)
        code = Script(b"\x76\xa9\x14" + program + b"\x88\xac")
        _check_sig(pubkey, sig, lambda t: tx.sighash_segwit(index, code, value, t))
        return
    if version == 0 and len(program) == 32:
        if not witness:
            raise ScriptError(ERR_WITNESS_LENGTH)
        script = witness[-1]
        if sha256(script) != program:
            raise ScriptError(ERR_WITNESS_MISMATCH)
        code = Script(script)
        _run_witness_script(script, witness[:-1],
                            lambda t: tx.sighash_segwit(index, code, value, t))
        return
    if version == 1 and len(program) == 32:
        items = list(witness)
        if len(items) >= 2 and items[-1][:1] == b"\x50":
            items = items[:-1]  # annex
        if len(items) != 1:
            raise ScriptError(ERR_UNSUPPORTED)
        sig = items[0]
        if len(sig) not in (64, 65):
            raise ScriptError(ERR_SCHNORR)
        hash_type = sig[64] if len(sig) == 65 else 0
        digest = tx.sighash_taproot(index, [Script(s) for s in spent_scripts], spent_values,
                                    hash_type)
        try:
            key = ec.PublicKey.from_xonly(program)
            good = key.schnorr_verify(ec.SchnorrSig(sig[:64]), digest)
        except Exception:
            good = False
        if not good:
            raise ScriptError(ERR_SCHNORR)
        return
    raise ScriptError(ERR_UNSUPPORTED)


def _witness_program(spk: bytes):
    if 4 <= len(spk) <= 42 and (spk[0] == 0 or 0x51 <= spk[0] <= 0x60) and spk[1] == len(spk) - 2:
        return (0 if spk[0] == 0 else spk[0] - 0x50), spk[2:]
    return None


def _pushes(script_sig: bytes):
    try:
        ops = list(iter_script(script_sig))
    except ValueError as exc:
        raise ScriptError("Data push larger than remaining script") from exc
    result = []
    for op, push in ops:
        if push is not None:
            result.append(push)
        elif op == 0:
            result.append(b"")
        else:
            raise ScriptError("Only push operators allowed in signatures")
    return result


def verify_input(tx, index, spent_scripts, spent_values):
    """Verify input ``index`` of ``tx``; spent_* are the scripts/values of all inputs' prevouts."""
    inp = tx.vin[index]
    spk = spent_scripts[index]
    value = spent_values[index]
    witness = list(inp.witness.items)
    script_sig = inp.script_sig.data
    program = _witness_program(spk)
    if program is not None:
        if script_sig:
            raise ScriptError(ERR_WITNESS_MALLEATED)
        _verify_witness_program(tx, index, program[0], program[1], witness, value,
                                spent_scripts, spent_values)
        return
    pushes = _pushes(script_sig)
    if len(spk) == 25 and spk[:3] == b"\x76\xa9\x14" and spk[23:] == b"\x88\xac":
        if len(pushes) != 2:
            raise ScriptError(ERR_STACK)
        sig, pubkey = pushes
        if hash160(pubkey) != spk[3:23]:
            raise ScriptError(ERR_EQUALVERIFY)
        code = Script(spk)
        _check_sig(pubkey, sig, lambda t: tx.sighash_legacy(index, code, t))
        return
    if len(spk) == 23 and spk[:2] == b"\xa9\x14" and spk[22] == 0x87:
        if not pushes:
            raise ScriptError(ERR_STACK)
        redeem = pushes[-1]
        if hash160(redeem) != spk[2:22]:
            raise ScriptError(ERR_EVAL_FALSE)
        inner = _witness_program(redeem)
        if inner is not None:
            if len(pushes) != 1:
                raise ScriptError(ERR_WITNESS_P2SH)
            _verify_witness_program(tx, index, inner[0], inner[1], witness, value,
                                    spent_scripts, spent_values)
            return
        code = Script(redeem)
        multisig = parse_multisig(redeem)
        if multisig is None:
            raise ScriptError(ERR_UNSUPPORTED)
        _check_multisig(multisig[0], multisig[1], pushes[:-1],
                        lambda t: tx.sighash_legacy(index, code, t))
        return
    raise ScriptError(ERR_UNSUPPORTED)
