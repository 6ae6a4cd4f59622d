import json

from django.core.management.base import BaseCommand

from custody.exporters import proof_of_reserves, proof_of_reserves_csv
from custody.reconciliation import reconcile_all


class Command(BaseCommand):
    help = ("Proof of reserves: each reserve address with its balance and the tip it was "
            "checked at. Reconciles against the node first unless --no-check.")

    def add_arguments(self, parser):
        parser.add_argument("--format", choices=["json", "csv"], default="json")
        parser.add_argument("--no-check", action="store_true",
                            help="report the last reconciliation without asking the node")

    def handle(self, *args, format, no_check, **options):
        if not no_check:
            reconcile_all()
        if format == "csv":
            self.stdout.write(proof_of_reserves_csv(), ending="")
        else:
            self.stdout.write(json.dumps(proof_of_reserves(), indent=2))
