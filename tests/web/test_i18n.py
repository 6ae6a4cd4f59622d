"""English, Russian and Kazakh: every msgid translated and not fuzzy, the compiled catalogues
in step with their sources, no msgid in the code left out of them, and dates and amounts
through Django's localisation."""

import re
import shutil
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.test import override_settings
from django.utils import translation

from core.web.catalogs import LANGUAGES, collect_messages
from core.web.templatetags.qazyna import btc
from tests.web.ci import require_tool

LOCALE = Path(settings.BASE_DIR) / "locale"
PLACEHOLDER = re.compile(r"%\(\w+\)s|\{\w*\}")
KAZAKH_LETTERS = set("әғқңөұүі")


def catalogue(language, root=LOCALE):
    return polib.pofile(str(root / language / "LC_MESSAGES" / "django.po"))


def untranslated_or_fuzzy(po):
    problems = []
    for entry in po:
        if entry.obsolete:
            continue
        if "fuzzy" in entry.flags:
            problems.append(("fuzzy", entry.msgid))
        forms = entry.msgstr_plural.values() if entry.msgid_plural else [entry.msgstr]
        if not all(form.strip() for form in forms):
            problems.append(("untranslated", entry.msgid))
    return problems


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_msgid_is_translated_and_none_is_fuzzy(language):
    po = catalogue(language)
    assert len(po) > 300
    assert not po.metadata_is_fuzzy
    assert untranslated_or_fuzzy(po) == []
    assert po.obsolete_entries() == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_translations_keep_every_placeholder(language):
    for entry in catalogue(language):
        wanted = sorted(PLACEHOLDER.findall(entry.msgid))
        forms = entry.msgstr_plural.values() if entry.msgid_plural else [entry.msgstr]
        for form in forms:
            assert sorted(PLACEHOLDER.findall(form)) == wanted, entry.msgid


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_compiled_catalogue_is_in_step_with_its_source(language):
    po = catalogue(language)
    mo = polib.mofile(str(LOCALE / language / "LC_MESSAGES" / "django.mo"))
    source = {(e.msgctxt, e.msgid): e.msgstr_plural or e.msgstr for e in po if not e.obsolete}
    compiled = {(e.msgctxt, e.msgid): e.msgstr_plural or e.msgstr for e in mo if e.msgid}
    assert compiled == source, "run: manage.py update_catalogs (compiles the .mo files)"


def test_kazakh_is_written_in_kazakh_cyrillic():
    text = " ".join(e.msgstr for e in catalogue("kk"))
    assert KAZAKH_LETTERS <= set(text)
    assert "Мемлекеттік цифрлық активтер қоры" in text


@pytest.mark.slow
def test_no_msgid_in_the_code_is_missing_from_the_catalogues(tmp_path):
    """makemessages over the project, into a copy of the catalogues: anything new comes out
    untranslated (or fuzzy, when gettext guesses from a similar msgid)."""
    for tool in ("xgettext", "msgmerge", "msguniq"):
        require_tool(tool, "apt-get install gettext")
    copy = tmp_path / "locale"
    shutil.copytree(LOCALE, copy)
    with override_settings(LOCALE_PATHS=[copy]):
        collect_messages()
    for language in LANGUAGES:
        problems = untranslated_or_fuzzy(catalogue(language, copy))
        assert problems == [], ("add the translations, then run manage.py update_catalogs",
                                problems)


def test_amounts_follow_the_language_number_format():
    with translation.override("en"):
        assert btc(123_456_789_012) == "1,234.56789012"
    with translation.override("ru"):
        assert btc(25_000_000) == "0,25000000"
        assert btc(123_456_789_012) == "1\xa0234,56789012"
    with translation.override("kk"):
        assert btc(25_000_000) == "0,25000000"


@pytest.mark.django_db
def test_pages_render_in_kazakh_and_russian_with_local_formats(web, clerk, submitted_case):
    client = web(clerk)
    url = f"/cases/{submitted_case.public_id}/"
    client.post("/i18n/setlang/", {"language": "kk", "next": url})
    kk = client.get(url).content.decode()
    assert '<html lang="kk">' in kk
    assert "Дәлелдемелер" in kk and "Сақтау тізбегі" in kk and "Жіберілді" in kk
    assert "0,25000000" in kk
    assert "2026 ж. 1 Наурыз" in kk  # the warrant's date, as core/web/formats/kk has it
    client.post("/i18n/setlang/", {"language": "ru", "next": url})
    ru = client.get(url).content.decode()
    assert "Доказательства" in ru and "Цепочка хранения" in ru
    assert "1 марта 2026" in ru
