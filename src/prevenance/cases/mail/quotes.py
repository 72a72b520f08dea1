"""The new text of a reply: the quoted history under it cut off, in French and English clients' formats."""

import re

# A header introducing the quoted message. Clients wrap long ones over two lines, so each pattern is
# also tried against a line joined with the next.
_ATTRIBUTION_RES = [
    re.compile(r"^\s*Le\s.{1,250}\sa\s+écrit\s*:\s*$", re.IGNORECASE),
    re.compile(r"^\s*On\s.{1,250}\swrote\s*:\s*$", re.IGNORECASE),
    re.compile(r"^\s*-{2,}\s*(Original Message|Message d'origine|Message original)\s*-{2,}\s*$", re.IGNORECASE),
]
_FROM_RE = re.compile(r"^\s*\*?(From|De)\s*:\*?\s*\S", re.IGNORECASE)
_SENT_RE = re.compile(r"^\s*\*?(Sent|Date|Envoyé|Envoyé le)\s*:\*?\s*\S", re.IGNORECASE)
_RULE_RE = re.compile(r"^\s*_{10,}\s*$")
_QUOTED_RE = re.compile(r"^\s*>")


# The three as one alternation: one match per line instead of a generator and up to three
# matches (every line of every message is tried, twice when a header may wrap).
_ATTRIBUTION_RE = re.compile("|".join(f"(?:{pattern.pattern})" for pattern in _ATTRIBUTION_RES), re.IGNORECASE)


def _matches(line: str) -> bool:
    return _ATTRIBUTION_RE.match(line) is not None


def _is_attribution(lines: list[str], index: int) -> bool:
    line = lines[index]
    if _matches(line):
        return True
    following = lines[index + 1] if index + 1 < len(lines) else ""
    # A wrapped header carries a date on its first line; without that guard an ordinary sentence
    # starting with "Le" or "On" just above a header would be cut with it.
    if not following.strip() or _matches(following) or not re.search(r"\d", line):
        return False
    return _matches(f"{line.rstrip()} {following.strip()}")


def _is_outlook_header(lines: list[str], index: int) -> bool:
    """Outlook's "From: / Sent:" (or "De : / Envoyé :") block, optionally under a rule of underscores."""
    start = index + 1 if _RULE_RE.match(lines[index]) else index
    if start >= len(lines) or not _FROM_RE.match(lines[start]):
        return False
    return any(_SENT_RE.match(line) for line in lines[start + 1 : start + 4])


def reply_text(text: str) -> str:
    """Text above the first quote header, with ">" lines removed; the whole text when nothing new is left.

    Quoted lines are removed rather than cut at, so answers written between quotes are kept.
    """
    lines = text.split("\n")
    kept: list[str] = []
    for index, line in enumerate(lines):
        if _is_attribution(lines, index) or _is_outlook_header(lines, index):
            break
        if not _QUOTED_RE.match(line):
            kept.append(line)
    new_text = re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip()
    return new_text or text.strip()
