import sys

from django.core.management.base import BaseCommand, CommandError

from core.audit import default_workers, run_verification
from core.audit_export import CheckpointError, parse_checkpoint, read_checkpoints


class Command(BaseCommand):
    help = ("Verify the hash-chained audit record from the last verified point (or all of it "
            "with --full, or against auditors' checkpoints) and store the result; name the "
            "first broken link.")

    def add_arguments(self, parser):
        parser.add_argument("--full", action="store_true",
                            help="from the first event, not from the last verified one")
        parser.add_argument("--recompute", action="store_true",
                            help="rebuild every event's canonical text from its fields instead "
                                 "of hashing the stored text (slow; trusts no constraint)")
        parser.add_argument("--workers", type=int, default=default_workers(),
                            help="processes that share a long run (default %(default)s)")
        parser.add_argument("--checkpoint", action="append", default=[], metavar="SEQ:HASH",
                            help="the chain must extend this checkpoint (implies --full)")
        parser.add_argument("--checkpoint-file", action="append", default=[], metavar="FILE",
                            help="a file of checkpoint lines (manage.py audit_checkpoint)")

    def handle(self, *args, **options):
        try:
            checkpoints = [parse_checkpoint(text) for text in options["checkpoint"]]
            for path in options["checkpoint_file"]:
                checkpoints += read_checkpoints(path)
        except (CheckpointError, OSError) as error:
            raise CommandError(str(error))
        result = run_verification(full=options["full"], recompute=options["recompute"],
                                  workers=max(1, options["workers"]), checkpoints=checkpoints)
        if result.ok:
            if not result.start_seq:
                scope = "all of it verified now"
            elif result.events_read:
                scope = f"#{result.start_seq + 1}–#{result.checked} verified now, the rest before"
            else:
                scope = "nothing new since the last verification"
            if checkpoints:
                scope += f"; it extends {len(checkpoints)} checkpoint(s)"
            self.stdout.write(f"OK: {result.checked} events, the chain is intact ({scope}).")
            return
        self.stderr.write(f"BROKEN at event #{result.broken_seq}: {result.problem} "
                          f"({result.checked} events verified before it).")
        sys.exit(1)
