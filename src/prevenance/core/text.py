import functools
import re
import sys
import unicodedata

# Letters Unicode does not decompose into a base letter and an accent, written as people
# type them on a keyboard without them: "cœur" is found by "coeur", "Łukasz" by "lukasz".
# (casefold already writes "ß" as "ss".) Changing this changes stored keys: a migration
# must refill them (core.refill, as cases/0017 and customers/0009 do).
_UNDECOMPOSED_LETTERS = str.maketrans({"œ": "oe", "æ": "ae", "ø": "o", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "ı": "i"})
UNDECOMPOSED_LETTERS = "œæøłđðþıŒÆØŁĐÐÞǿǾǽǼ"  # and the letters made of one of them and an accent


@functools.cache
def _combining_marks() -> dict[int, None]:
    # Built once per process (~70 ms, 912 code points): a translate table removes the marks in
    # C, where testing each character with unicodedata.combining cost a Python call per
    # character, a tenth of the email intake's calls (every message's text is folded twice).
    return dict.fromkeys(code for code in range(sys.maxunicode + 1) if unicodedata.combining(chr(code)))


def strip_combining_marks(text: str) -> str:
    """The text without its combining characters (the accents NFKD splits off the letters)."""
    return text.translate(_combining_marks())


def search_key(value: str | None) -> str:
    """Fold a name for prefix search: lower case, accents removed, spaces squeezed.

    "Éloïse  D'Arc" and "eloise d'arc" give the same key, so a search finds both; "Œuvre"
    and "oeuvre" too.
    """
    if not value:
        return ""
    decomposed = unicodedata.normalize("NFKD", value.casefold())
    # Written out once the accents are gone: "ǿ" decomposes into "ø" and an accent.
    stripped = strip_combining_marks(decomposed).translate(_UNDECOMPOSED_LETTERS)
    return " ".join(stripped.split())


def name_search_keys(first_name: str, last_name: str, company_name: str, *, company: bool) -> tuple[str, str]:
    """A customer's two folded name keys (last name first, first name first): a person is found
    by either order; a company by its name."""
    if company and company_name:
        key = search_key(company_name)[:220]
        return key, key
    return search_key(f"{last_name} {first_name}")[:220], search_key(f"{first_name} {last_name}")[:220]


def next_prefix(prefix: str) -> str | None:
    """The smallest string greater than every string that starts with `prefix` (for range
    scans); None when there is none (only U+10FFFF, the last character, which has no next)."""
    prefix = prefix.rstrip("\U0010ffff")
    return prefix[:-1] + chr(ord(prefix[-1]) + 1) if prefix else None


# The most frequent short words of the two languages the product answers in, without the words
# both share ("a", "on", "ce"...). Telling French from English needs no more, and takes a few
# microseconds on the intake's hot path, where a general detector (langdetect, lingua) costs
# milliseconds a message and knows fifty languages nobody answers in.
_COMMON_WORDS = {
    "fr": frozenset(
        "le la les un une des du de et est sont je j vous nous mon ma mes votre vos pas ne n que qui pour avec sur dans "
        "au aux cette il elle ils sa son ses bonjour merci cordialement madame monsieur commande colis livraison reçu "
        "toujours depuis mais ou très bien fait été".split()
    ),
    "en": frozenset(
        "the an and is are was i you we my your our not do does did that which for with in at to of it this these have has "
        "hello hi dear thanks thank regards please order parcel delivery received still since but or very been would could".split()
    ),
}
_WORD = re.compile(r"[^\W\d_]+")
_FRENCH_LETTERS = frozenset("éèêëàâùûüôîïç")


def guess_language(text: str) -> str | None:
    """"fr" or "en" when the text is clearly one of them (at least three telling words, twice
    as many as the other's), else None: a short or mixed text says nothing."""
    scores = dict.fromkeys(_COMMON_WORDS, 0)
    for word in _WORD.findall(text[:5000].casefold()):
        for language, words in _COMMON_WORDS.items():
            if word in words:
                scores[language] += 1
        if not _FRENCH_LETTERS.isdisjoint(word):
            scores["fr"] += 1  # an accented letter is French here, whatever the word
    (best, top), (_other, second) = sorted(scores.items(), key=lambda item: item[1], reverse=True)
    return best if top >= 3 and top >= 2 * second else None
