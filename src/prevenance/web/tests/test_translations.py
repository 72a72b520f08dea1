"""The French catalogue is complete and the compiled .mo matches the .po (both are committed)."""

import gettext
import re
from pathlib import Path

from django.conf import settings

LOCALE = Path(settings.LOCALE_PATHS[0]) / "fr" / "LC_MESSAGES"
_STRING = r'"((?:[^"\\]|\\.)*)"'


def _joined(block: str, keyword: str) -> str | None:
    match = re.search(rf"^{keyword} {_STRING}\n((?:{_STRING}\n)*)", block + "\n", re.M)
    if match is None:
        return None
    return match.group(1) + "".join(re.findall(_STRING, match.group(2)))


def _entries() -> list[dict]:
    entries = []
    for block in (LOCALE / "django.po").read_text(encoding="utf-8").split("\n\n"):
        msgid = _joined(block, "msgid")
        if not msgid:
            continue  # the header
        plural = _joined(block, "msgid_plural")
        translations = [_joined(block, r"msgstr\[\d\]")] if plural else [_joined(block, "msgstr")]
        entries.append({
            "msgid": msgid, "plural": plural, "context": _joined(block, "msgctxt"),
            "fuzzy": "#, fuzzy" in block or re.search(r"^#,.*\bfuzzy\b", block, re.M) is not None,
            "translations": translations,
        })
    return entries


def test_every_french_entry_is_translated_and_not_fuzzy():
    entries = _entries()
    assert len(entries) > 300
    missing = [e["msgid"] for e in entries if e["fuzzy"] or not all(e["translations"])]
    assert missing == [], "run makemessages -l fr, translate, then compilemessages"


def test_compiled_catalogue_matches_the_po_file():
    with (LOCALE / "django.mo").open("rb") as handle:
        catalogue = gettext.GNUTranslations(handle)._catalog
    def unescape(text: str) -> str:
        return text.encode("latin-1", "backslashreplace").decode("unicode_escape")
    absent = []
    for entry in _entries():
        key = unescape(entry["msgid"])
        if entry["context"] is not None:
            key = f"{unescape(entry['context'])}\x04{key}"
        if entry["plural"]:
            key = (key, 0)
        if key not in catalogue:
            absent.append(entry["msgid"])
    assert absent == [], "django.mo is older than django.po: run compilemessages -l fr"
