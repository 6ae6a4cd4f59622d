"""DEVELOPMENT ONLY — a stand-in for a hardware wallet, for walking a transfer on the
development chain. It signs a PSBT with throwaway keys derived from the signer's NAME, which
anyone can recompute: never use it with real coins. It refuses to run on mainnet.

    python -m tools.demo_signer sign --signer c1 --in unsigned.psbt --out signed.psbt
    python -m tools.demo_signer xpub --signer c1      # the [fp/48h/1h/0h/2h]tpub… to register

Keys: for signer NAME, seed = (NAME.encode() * 32)[:32], a BIP-32 testnet root, account
m/48h/1h/0h/2h (the same derivation as tests/support/keys.py). Qazyna itself never sees these keys.
"""

import argparse
import os
import sys
from functools import cache

from embit import bip32
from embit.networks import NETWORKS
from embit.psbt import PSBT

ORIGIN_PATH = "m/48h/1h/0h/2h"
BANNER = "DEVELOPMENT ONLY: throwaway keys anyone can recompute. Never use with real coins."


class MainnetRefused(SystemExit):
    pass


def refuse_mainnet(network=None):
    network = network or os.environ.get("BITCOIN_NETWORK", "regtest")
    if network.strip().lower() in ("mainnet", "main", "bitcoin"):
        raise MainnetRefused("demo_signer: refusing to run with BITCOIN_NETWORK=mainnet. "
                             + BANNER)


@cache
def signer_root(name):
    """The HD root of a named development signer (never a real key)."""
    seed = (name.encode() * 32)[:32]
    return bip32.HDKey.from_seed(seed, version=NETWORKS["test"]["xprv"])


def key_expression(name):
    """[fingerprint/48h/1h/0h/2h]tpub… of a development signer: what an admin would paste."""
    root = signer_root(name)
    tpub = root.derive(ORIGIN_PATH).to_public().to_base58(version=NETWORKS["test"]["xpub"])
    return f"[{root.my_fingerprint.hex()}/48h/1h/0h/2h]{tpub}"


def sign_psbt(psbt_text, signer):
    """Sign every input whose bip32 derivations name this signer's fingerprint. Returns
    (signed base64, number of signatures added)."""
    psbt = PSBT.from_string(psbt_text.strip())
    added = psbt.sign_with(signer_root(signer))
    return psbt.to_string(), added


def _read(path):
    data = sys.stdin.buffer.read() if path == "-" else open(path, "rb").read()
    if data.startswith(b"psbt\xff"):
        return PSBT.parse(data).to_string()
    return data.decode("ascii").strip()


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tools.demo_signer", description=BANNER)
    commands = parser.add_subparsers(dest="command", required=True)
    sign = commands.add_parser("sign", help="sign a PSBT file with a development key")
    sign.add_argument("--signer", required=True, help="development signer name, e.g. c1")
    sign.add_argument("--in", dest="infile", required=True, help="unsigned PSBT (base64 or binary)")
    sign.add_argument("--out", dest="outfile", required=True, help="where to write the signed PSBT")
    xpub = commands.add_parser("xpub", help="print a development signer's key expression")
    xpub.add_argument("--signer", required=True)
    args = parser.parse_args(argv)
    refuse_mainnet()
    print(BANNER, file=sys.stderr)
    if args.command == "xpub":
        print(key_expression(args.signer))
        return 0
    signed, added = sign_psbt(_read(args.infile), args.signer)
    if not added:
        print(f"demo_signer: signer {args.signer!r} holds none of this PSBT's keys",
              file=sys.stderr)
        return 2
    if args.outfile == "-":
        print(signed)
    else:
        with open(args.outfile, "w") as fh:
            fh.write(signed + "\n")
    print(f"demo_signer: {args.signer} added {added} signature(s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
