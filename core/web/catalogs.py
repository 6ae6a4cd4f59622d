"""The translation catalogues: locale/ru and locale/kk, one for the whole project.

`manage.py update_catalogs` collects every msgid (makemessages, with the options below) and
compiles the .mo files that are committed beside the .po files, so running Qazyna needs no
gettext tools; updating the catalogues does (Debian: gettext). tests/web/test_i18n.py runs
the same collection into a copy and fails on any msgid without a translation."""

from __future__ import annotations

from django.core.management import call_command

LANGUAGES = ["ru", "kk"]
IGNORE = [".venv", "var", "tests", "bench", "devchain", "tools", "scripts", "test-artifacts",
          "node_modules"]


def collect_messages(verbosity: int = 0) -> None:
    """makemessages for every language into settings.LOCALE_PATHS[0]."""
    call_command("makemessages", locale=LANGUAGES, ignore_patterns=IGNORE, no_obsolete=True,
                 add_location="file", no_wrap=False, verbosity=verbosity)


def compile_messages(verbosity: int = 0) -> None:
    call_command("compilemessages", locale=LANGUAGES, ignore_patterns=IGNORE,
                 verbosity=verbosity)
