import os

from django.core.management.base import BaseCommand

from core.audit_export import write_bundle


class Command(BaseCommand):
    help = ("Write the whole audit record and the reserve ledger with its legal basis to one "
            "self-contained file, for tools/verify_audit_bundle.py on an auditor's machine.")

    def add_arguments(self, parser):
        parser.add_argument("--out", required=True, help="the bundle file (JSON Lines)")

    def handle(self, *args, **options):
        path = options["out"]
        partial = f"{path}.partial"
        with open(partial, "w", encoding="utf-8", newline="\n") as out:
            trailer = write_bundle(out)
        os.replace(partial, path)  # a crash never leaves a bundle that looks complete
        self.stdout.write(f"{path}: {trailer['events']} events, {trailer['ledger_entries']} "
                          f"reserve ledger entries, ending at #{trailer['last_seq']} "
                          f"{trailer['last_hash']}.")
