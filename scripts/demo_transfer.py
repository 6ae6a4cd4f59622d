"""DEVELOPMENT ONLY: walk one transfer from proposal to settlement on a regtest chain (the
development chain, or a Bitcoin Core regtest node with a "demo-funding" wallet), through
Qazyna's API, the way the people would, with tools/demo_signer standing in for the key
holders' hardware wallets.

    .venv/bin/python scripts/demo_transfer.py --case AFM-2026-0004

bank1 proposes, bank2 and bank3 approve the payload hash, the custody key holders
custody-1 and custody-2 sign the unsigned PSBT offline, the signed PSBTs are uploaded, Qazyna
broadcasts, and six blocks are mined on that chain; the watchers settle it. The script asks
the node what it is (getnetworkinfo) and names it: never "the development chain" for a real
node."""

import argparse
import base64
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tools.demo_otp
PASSWORD = "qazyna-demo"


class Api:
    """Each demo person signs in once (POST /api/auth/token/, with their demo second-factor
    code) and calls the API with the expiring bearer token it gets."""

    def __init__(self, base):
        self.base = base.rstrip("/")
        self.tokens = {}
        self.used_step = {}

    def otp(self, user):
        """A demo code this user has not used yet: each TOTP code is good once, and the
        device takes the step before and after the current one; past those, wait."""
        from tools.demo_otp import STEP, demo_code

        now = int(time.time() // STEP)
        target = max(now - 1, self.used_step.get(user, now - 2) + 1)
        if target > now + 1:
            time.sleep((target - 1) * STEP - time.time() + 0.5)
            now = target - 1
        self.used_step[user] = target
        return demo_code(user, at=target * STEP + 1)

    def decide(self, user, path, body):
        """A POST that asks for a fresh second-factor code; a code already used (by the demo
        data) is skipped for the next."""
        for _ in range(4):
            try:
                return self.call(user, "POST", path, {**body, "otp": self.otp(user)},
                                 quiet=True)
            except CodeUsed:
                time.sleep(1.1)  # django-otp makes the try after a failure wait
        sys.exit(f"POST {path} as {user}: no unused second-factor code")

    def token(self, user):
        for _ in range(4):
            if user in self.tokens:
                break
            body = json.dumps({"username": user, "password": PASSWORD, "otp": self.otp(user),
                               "name": "demo_transfer"}).encode()
            request = urllib.request.Request(f"{self.base}/api/auth/token/", data=body,
                                             method="POST")
            request.add_header("Content-Type", "application/json")
            try:
                with urllib.request.urlopen(request, timeout=30) as reply:
                    self.tokens[user] = json.loads(reply.read())["token"]
            except urllib.error.HTTPError as error:
                text = error.read().decode()
                if "second_factor_invalid" not in text:
                    sys.exit(f"sign-in as {user}: HTTP {error.code} {text}")
                time.sleep(1.1)  # a code the demo data used: the next one
        if user not in self.tokens:
            sys.exit(f"sign-in as {user}: no unused second-factor code")
        return self.tokens[user]

    def call(self, user, method, path, body=None, raw=False, quiet=False):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.base}{path}", data=data, method=method)
        request.add_header("Authorization", f"Bearer {self.token(user)}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=60) as reply:
                content = reply.read()
        except urllib.error.HTTPError as error:
            text = error.read().decode()
            if quiet and "second_factor_invalid" in text:
                raise CodeUsed(text) from None
            sys.exit(f"{method} {path} as {user}: HTTP {error.code} {text}")
        return content if raw else json.loads(content)


class CodeUsed(Exception):
    pass


def rpc(url, method, *params, wallet=None):
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    path = f"/wallet/{wallet}" if wallet else "/"
    request = urllib.request.Request(f"{parts.scheme}://{parts.hostname}:{parts.port}{path}",
                                     data=json.dumps({"method": method, "params": list(params),
                                                      "id": 1}).encode())
    token = base64.b64encode(f"{parts.username}:{parts.password}".encode()).decode()
    request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return json.loads(reply.read())["result"]
    except urllib.error.HTTPError as error:
        return json.loads(error.read())["result"]


def chain_name(url):
    """What the RPC URL points at, in words: never "development chain" for a real node."""
    info = rpc(url, "getnetworkinfo") or {}
    version = str(info.get("subversion", ""))
    if "devchain" in version:
        return "the development chain"
    return f"the Bitcoin node {version or url.split('@')[-1]}"


def step(text):
    print(f"  · {text}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", default="AFM-2026-0004", help="case number")
    parser.add_argument("--base", default=f"http://127.0.0.1:{os.environ.get('PORT', '8000')}")
    parser.add_argument("--rpc", default=os.environ.get(
        "BITCOIN_RPC_URL", "http://qazyna:qazyna@127.0.0.1:18443"))
    parser.add_argument("--timeout", type=float, default=120)
    args = parser.parse_args()
    api = Api(args.base)
    started = time.monotonic()
    chain = chain_name(args.rpc)
    print(f"Walking one transfer for {args.case} ({chain}, demo keys)")

    cases = api.call("bank1", "GET", f"/api/v1/cases/?q={args.case}")["results"]
    if not cases:
        sys.exit(f"No case {args.case} visible to bank1 (is it CONFISCATION_APPROVED?)")
    case = cases[0]
    wallets = api.call("bank1", "GET", "/api/v1/reserve-wallets/")
    wallets = wallets["results"] if isinstance(wallets, dict) else wallets
    wallet = next(w for w in wallets if w["status"] == "ACTIVE")
    transfer = api.call("bank1", "POST", "/api/v1/transfers/",
                        {"case": case["id"], "reserve_wallet": wallet["id"]})
    tid = transfer["id"]
    step(f"bank1 proposed transfer {tid}: {transfer['amount_sats']} sat to "
         f"{transfer['destination']} (fee {transfer['fee_sats']} sat), payload hash "
         f"{transfer['payload_hash'][:16]}…")
    for officer in ("bank2", "bank3"):
        transfer = api.decide(officer, f"/api/v1/transfers/{tid}/approve/",
                              {"payload_hash": transfer["payload_hash"]})
        step(f"{officer} approved; status {transfer['status']}")
    unsigned = api.call("bank1", "GET", f"/api/v1/transfers/{tid}/psbt/?download=1", raw=True)
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "unsigned.psbt").write_bytes(unsigned)
        for signer in ("custody-1", "custody-2"):
            out = Path(tmp, f"{signer}.psbt")
            subprocess.run([sys.executable, "-m", "tools.demo_signer", "sign", "--signer", signer,
                            "--in", str(Path(tmp, "unsigned.psbt")), "--out", str(out)],
                           cwd=ROOT, check=True, capture_output=True)
            signed = out.read_bytes()
            text = signed.decode() if not signed.startswith(b"psbt\xff") \
                else base64.b64encode(signed).decode()
            transfer = api.decide("bank1", f"/api/v1/transfers/{tid}/signatures/",
                                  {"psbt": text.strip()})
            step(f"{signer} signed offline; uploaded; status {transfer['status']}")
    deadline = time.monotonic() + args.timeout
    while transfer["status"] not in ("BROADCAST", "CONFIRMING", "SETTLED", "FAILED"):
        if time.monotonic() > deadline:
            sys.exit(f"not broadcast in time: {transfer['status']}")
        time.sleep(0.5)
        transfer = api.call("bank1", "GET", f"/api/v1/transfers/{tid}/")
    step(f"broadcast {transfer.get('txid')}")
    miner = rpc(args.rpc, "getnewaddress", wallet="demo-funding")
    rpc(args.rpc, "generatetoaddress", 6, miner)
    step(f"mined 6 blocks on {chain}")
    while transfer["status"] != "SETTLED":
        if time.monotonic() > deadline or transfer["status"] in ("FAILED", "CONFLICTED"):
            sys.exit(f"not settled: {transfer['status']}")
        time.sleep(0.5)
        transfer = api.call("bank1", "GET", f"/api/v1/transfers/{tid}/")
    case = api.call("bank1", "GET", f"/api/v1/cases/{case['id']}/")
    step(f"SETTLED; case {case['case_number']} is {case['status']}")
    print(f"One transfer, proposal to settlement: {time.monotonic() - started:.1f} s")


if __name__ == "__main__":
    main()
