from django.core.management.base import BaseCommand

from core.web.catalogs import collect_messages, compile_messages


class Command(BaseCommand):
    help = ("Collect every msgid into locale/ru and locale/kk (new ones untranslated), then "
            "compile the .mo files. Needs gettext (xgettext, msgmerge, msgfmt).")

    def add_arguments(self, parser):
        parser.add_argument("--no-compile", action="store_true")

    def handle(self, *args, no_compile=False, verbosity=1, **options):
        collect_messages(verbosity=verbosity)
        if not no_compile:
            compile_messages(verbosity=verbosity)
