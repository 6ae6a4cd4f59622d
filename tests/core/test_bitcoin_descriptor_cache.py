"""A custody descriptor is parsed once per process (core.bitcoin._parsed): deriving from the
cached parse must give what a fresh parse gives, at any index, in any order."""

from embit.descriptor import Descriptor

from core.bitcoin import build_multisig_descriptor, embit_network
from tools.demo_signer import key_expression


def fresh_address(text, index):
    desc = Descriptor.from_string(text.split("#")[0])
    return desc.derive(index).address(network=embit_network("regtest"))


def test_the_cached_parse_derives_what_a_fresh_parse_derives():
    multisig = build_multisig_descriptor(
        threshold=2, keys=[key_expression(s) for s in ("c1", "c2", "c3")], network="regtest")
    indexes = [5, 0, 5, 2**31 - 1, 1, 0]
    addresses = [multisig.address_at(i, "regtest") for i in indexes]
    assert addresses == [fresh_address(multisig.text, i) for i in indexes]
    assert len(set(addresses)) == 4  # 5, 0, the last index and 1: distinct, repeatable
    assert multisig.script_pubkey_at(1) == Descriptor.from_string(
        multisig.text.split("#")[0]).derive(1).script_pubkey().data.hex()
