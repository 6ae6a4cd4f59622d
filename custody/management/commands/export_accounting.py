from django.core.management.base import BaseCommand

from custody.exporters import write_accounting_csv


class _Lines:
    """The command's stdout as a file of ready lines (no ending added)."""

    def __init__(self, wrapper):
        self.wrapper = wrapper

    def write(self, line):
        self.wrapper.write(line, ending="")


class Command(BaseCommand):
    help = ("The full accounting of the reserve as CSV: every ledger line, then holdings by "
            "source, by case and by wallet.")

    def add_arguments(self, parser):
        parser.add_argument("--output", "-o", default="-", help="file to write (default stdout)")

    def handle(self, *args, output, **options):
        # Line by line from server-side cursors: constant memory at any size of the ledger.
        if output == "-":
            write_accounting_csv(_Lines(self.stdout))
        else:
            with open(output, "w", newline="") as fh:
                write_accounting_csv(fh)
            self.stderr.write(f"wrote {output}")
