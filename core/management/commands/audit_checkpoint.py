import os
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from core.audit import run_verification
from core.audit_export import (
    CheckpointError,
    checkpoint_line,
    checkpoint_of,
    new_signing_key_pem,
    public_key_hex,
)


class Command(BaseCommand):
    help = ("Print a checkpoint of the audit record (seq, hash, times; signed when "
            "AUDIT_CHECKPOINT_KEY is set) for auditors to keep outside the database. The "
            "chain is verified first; a broken chain gets no checkpoint.")

    def add_arguments(self, parser):
        parser.add_argument("--out", help="append the checkpoint line to this file as well")
        parser.add_argument("--public-key", action="store_true",
                            help="print the public key auditors pin, and nothing else")
        parser.add_argument("--generate-key", metavar="FILE",
                            help="write a new Ed25519 private key (PEM) to FILE for "
                                 "AUDIT_CHECKPOINT_KEY_FILE, and print its public key")

    def handle(self, *args, **options):
        try:
            if options["generate_key"]:
                return self._generate(Path(options["generate_key"]))
            if options["public_key"]:
                key = public_key_hex()
                if key is None:
                    raise CommandError("AUDIT_CHECKPOINT_KEY is not set: checkpoints are "
                                       "unsigned.")
                self.stdout.write(key)
                return
            result = run_verification()
            if not result.ok:
                raise CommandError(f"The chain is broken at #{result.broken_seq} "
                                   f"({result.problem}): no checkpoint issued.")
            line = checkpoint_line(checkpoint_of(result.checked))
        except CheckpointError as error:
            raise CommandError(str(error))
        if options["out"]:
            with open(options["out"], "a", encoding="utf-8") as handle:
                handle.write(line + "\n")
        self.stdout.write(line)

    def _generate(self, path):
        from cryptography.hazmat.primitives import serialization

        if path.exists():
            raise CommandError(f"{path} exists; not overwriting a key.")
        pem = new_signing_key_pem()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(pem)
        key = serialization.load_pem_private_key(pem.encode(), password=None)
        self.stdout.write(public_key_hex(key) or "")
