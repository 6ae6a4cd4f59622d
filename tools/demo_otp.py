"""DEVELOPMENT ONLY: the demo officers' second factor.

`manage.py load_demo_data` enrols each demo legal officer, bank officer and admin with a TOTP
device whose secret is derived from their username, so that a newcomer (and the demo scripts)
can produce their codes without a phone:

    .venv/bin/python -m tools.demo_otp bank1        # the current code for bank1
    .venv/bin/python -m tools.demo_otp bank1 --uri  # an otpauth:// URI for an authenticator

Never use these secrets for anything real: anyone who reads this file can compute them."""

import argparse
import hashlib
import time
from base64 import b32encode

from django_otp.oath import TOTP

STEP, DIGITS = 30, 6


def demo_key_hex(username: str) -> str:
    """The 20-byte TOTP secret (hex, as django-otp's TOTPDevice.key stores it)."""
    return hashlib.sha256(f"qazyna-demo-totp:{username}".encode()).hexdigest()[:40]


def demo_code(username: str, at: float | None = None) -> str:
    totp = TOTP(bytes.fromhex(demo_key_hex(username)), step=STEP, digits=DIGITS)
    totp.time = time.time() if at is None else at
    return f"{totp.token():0{DIGITS}d}"


def demo_uri(username: str) -> str:
    secret = b32encode(bytes.fromhex(demo_key_hex(username))).decode()
    return f"otpauth://totp/Qazyna:{username}?secret={secret}&issuer=Qazyna&digits=6&period=30"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("username")
    parser.add_argument("--uri", action="store_true")
    args = parser.parse_args()
    print(demo_uri(args.username) if args.uri else demo_code(args.username))


if __name__ == "__main__":
    main()
