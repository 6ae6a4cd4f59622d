from django.core.management.base import BaseCommand, CommandError

from custody.reconciliation import reconcile_all


class Command(BaseCommand):
    help = ("Compare each reserve wallet's ledger balance with the node's UTXO total at its "
            "addresses. A mismatch raises an alert with the difference; nothing is corrected. "
            "Exits 1 when any wallet does not balance.")

    def handle(self, *args, **options):
        runs = reconcile_all()
        unbalanced = 0
        for run in runs:
            self.stdout.write(
                f"{run.wallet.label}: tip {run.tip_height} ledger {run.ledger_sats} node "
                f"{run.node_sats} in-flight {run.in_flight_sats} unattributed "
                f"{run.unattributed_sats} difference {run.difference_sats}")
            unbalanced += run.difference_sats != 0
        if unbalanced:
            raise CommandError(f"{unbalanced} reserve wallet(s) do not balance; alerts raised.")
        self.stdout.write(self.style.SUCCESS(f"{len(runs)} reserve wallet(s) balance."))
