import sys

from django.core.management.base import BaseCommand

from core.audit import verify_chain


class Command(BaseCommand):
    help = "Verify the whole hash-chained audit record; name the first broken link."

    def handle(self, *args, **options):
        result = verify_chain()
        if result.ok:
            self.stdout.write(f"OK: {result.checked} events, the chain is intact.")
            return
        self.stderr.write(f"BROKEN at event #{result.broken_seq}: {result.problem} "
                          f"({result.checked} events verified before it).")
        sys.exit(1)
