from django.core.management.base import BaseCommand

from custody.exporters import accounting_csv


class Command(BaseCommand):
    help = ("The full accounting of the reserve as CSV: every ledger line, then holdings by "
            "source, by case and by wallet.")

    def add_arguments(self, parser):
        parser.add_argument("--output", "-o", default="-", help="file to write (default stdout)")

    def handle(self, *args, output, **options):
        text = accounting_csv()
        if output == "-":
            self.stdout.write(text, ending="")
        else:
            with open(output, "w", newline="") as fh:
                fh.write(text)
            self.stderr.write(f"wrote {output}")
