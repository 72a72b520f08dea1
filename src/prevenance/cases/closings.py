"""The closing formula ("Cordialement,", "Best regards,") a reply may already end with.

An agent who types their own closing ("Cordialement,\\nSarah") should not get the signature's
closing appended under it: the customer would read two. `how_it_ends` tells how a text ends;
services/templates.py then leaves the signature out, or only its closing
(docs/templates-and-surveys.md).

Text only, no database: pure functions over the reply's plain text.
"""

import enum
import re
import unicodedata
from collections.abc import Iterable

from prevenance.core.text import strip_combining_marks

# The closing formulas, French and English, as a person writes them. Matched against a whole
# line, whatever its case, accents, apostrophe (' or ’), spaces and the punctuation ",.!" after
# it: "BIEN A VOUS !" matches "Bien à vous". To recognise another formula, add it to one of the
# two lists (nothing else to change); a sentence that starts like one ("Merci de nous renvoyer le
# formulaire.") never matches, since only whole lines do.
#
# A valediction closes a letter even without a name under it: "Cordialement," as the last line
# takes the signature's place, and only the rest of the signature (the name, the team) follows.
VALEDICTIONS: tuple[str, ...] = (
    # French
    "Cordialement", "Bien cordialement", "Très cordialement", "Bien à vous", "Bien sincèrement",
    "Sincères salutations", "Salutations distinguées", "Meilleures salutations", "Amicalement",
    "Au plaisir",
    # English
    "Best regards", "Kind regards", "Warm regards", "Regards", "Best wishes", "All the best",
    "Sincerely", "Yours sincerely", "Yours faithfully", "Cheers", "Best",
)
# Thanks and wishes end many replies that still want their signature ("Merci !" then
# "Bien cordialement, Sarah"): they count as the agent's closing only with a name under them.
THANKS_AND_WISHES: tuple[str, ...] = (
    # French
    "Merci", "Merci beaucoup", "Merci d'avance", "Merci par avance", "Belle journée", "Bonne journée",
    "Belle fin de journée", "Bonne fin de journée", "Bonne soirée", "À bientôt",
    # English
    "Thanks", "Thank you", "Many thanks", "Thanks in advance",
)

# At most this many short lines under the formula: a name, a title.
MAX_LINES_AFTER = 2
MAX_SHORT_LINE = 60
# What makes a line a sentence rather than a name or a title: "?", "!", ";", ":", "…", or a
# full stop ending a word of two letters or more ("Sarah P." and "S.A.V." are names and titles;
# "Nous revenons vers vous demain." is not).
_SENTENCE = re.compile(r"[?!;:…]|\w\w\.(?:\s|$)")
_TRAILING = ",.! "
_DASHES = "-–— "  # before a name written as a signature ("— Camille")


class Ending(enum.Enum):
    NONE = "none"  # no closing of its own: the whole signature follows
    CLOSING = "closing"  # a valediction as the last line: the signature without its closing follows
    SIGNED = "signed"  # a closing with a name (and a title) under it: no signature


def _key(line: str) -> str:
    """The line as compared: accents off, casefolded, one space between words, the typographic
    apostrophe as ', without the punctuation after it."""
    plain = strip_combining_marks(unicodedata.normalize("NFKD", line)).replace("’", "'").replace("‘", "'")
    return " ".join(plain.casefold().split()).rstrip(_TRAILING)


_VALEDICTIONS = frozenset(_key(formula) for formula in VALEDICTIONS)
_ANY_CLOSING = _VALEDICTIONS | frozenset(_key(formula) for formula in THANKS_AND_WISHES)
# Longer lines are sentences, not formulas: not worth folding (every reply's last lines are read).
_LONGEST = 2 * max(len(formula) for formula in VALEDICTIONS + THANKS_AND_WISHES)


def _is_one_of(line: str, formulas: frozenset[str]) -> bool:
    return len(line) <= _LONGEST and _key(line) in formulas


def is_closing(line: str) -> bool:
    """Whether the whole line is a closing formula ("Bien cordialement,", "Thanks!")."""
    return _is_one_of(line, _ANY_CLOSING)


def _short(line: str) -> bool:
    return len(line) <= MAX_SHORT_LINE and not _SENTENCE.search(line)


def how_it_ends(text: str, *, names: Iterable[str] = ()) -> Ending:
    """How the text ends: with a closing formula followed by one or two short lines (a name, a
    title; at most MAX_SHORT_LINE characters, no sentence punctuation), or with one of `names`
    (the writer's first or full name) as its own last line, whatever the words above it
    ("Merci et bonne journée !" then "Camille"): SIGNED; with a valediction as its last line:
    CLOSING; otherwise NONE. A closing followed by more paragraphs ("Merci !" then the next
    steps) does not count, nor thanks without a name."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if lines and _key(lines[-1].lstrip(_DASHES)) in {_key(name) for name in names if name and name.strip()}:
        return Ending.SIGNED
    if lines and _is_one_of(lines[-1], _VALEDICTIONS):
        return Ending.CLOSING
    for under in range(1, MAX_LINES_AFTER + 1):
        if len(lines) > under and is_closing(lines[-under - 1]) and all(_short(line) for line in lines[-under:]):
            return Ending.SIGNED
    return Ending.NONE


def without_closing(sign_off: str) -> str:
    """The sign-off without the closing formula it starts with ("Bien cordialement,\\nSarah\\n
    Service client" -> "Sarah\\nService client"), for a text that already ends with its own."""
    lines = sign_off.strip().splitlines()
    while lines and (is_closing(lines[0]) or not lines[0].strip()):
        lines.pop(0)
    return "\n".join(lines).strip()
