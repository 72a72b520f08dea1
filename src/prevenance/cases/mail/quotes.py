"""The new text of a reply: the quoted history under it cut off, in French and English clients' formats."""

import re
from html.parser import HTMLParser

from prevenance.cases.mail.sanitize import QUOTE_MARKER_CLASSES, html_to_text

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


# Folding for display: the thread shows a reply's new part first and the quoted history behind a
# toggle. Nothing is removed from what is stored; these only say where the history starts.


def split_reply_text(text: str) -> tuple[str, str]:
    """(new part, quoted history) of a plain-text reply, cut at the first quote header ("Le ...
    a écrit :", "On ... wrote:", Outlook's "De : / Envoyé :" block) or at the block of ">"
    lines that ends the message. ("text", "") when there is nothing to fold, or nothing new
    above the history (a message that is all quote is shown whole). Answers written between
    quotes are not folded: the history must end the message."""
    lines = (text or "").split("\n")
    cut = next((index for index in range(len(lines)) if _is_attribution(lines, index) or _is_outlook_header(lines, index)), None)
    if cut is None:
        cut = len(lines)
        while cut and (_QUOTED_RE.match(lines[cut - 1]) or not lines[cut - 1].strip()):
            cut -= 1
        if not any(_QUOTED_RE.match(line) for line in lines[cut:]):
            return text, ""
    new, quoted = "\n".join(lines[:cut]).strip(), "\n".join(lines[cut:]).strip()
    if not new or not quoted:
        return text, ""
    return new, quoted


# Where the mail clients put the history they quote under a reply's HTML (the element starts it):
# Gmail (a "gmail_quote" or "gmail_attr" div), Apple Mail and Thunderbird (<blockquote
# type="cite">, Thunderbird's "moz-cite-prefix" line above it), Yahoo ("yahoo_quoted"), Outlook
# on the web (the "divRplyFwdMsg" header block, under an <hr>, after "appendonsend") and Outlook
# for Windows (the header block's top border). The sanitiser keeps the classes and
# blockquote's type (sanitize.QUOTE_MARKER_CLASSES), not ids and styles: stored HTML is cut
# there, else at the header line's text (Outlook's "De : / Envoyé :" block after its <hr>).
_QUOTE_IDS = frozenset({"divrplyfwdmsg", "appendonsend"})
_OUTLOOK_BORDER_RE = re.compile(r"border-top\s*:\s*solid\s+#(?:e1e1e1|b5c4df)", re.IGNORECASE)
# Blocks whose text may be a quote header ("Le ... a écrit :", "De : ... Envoyé : ...") when no
# element says so (older Apple Mail, a plain <hr> before Outlook's block).
_HEADER_BLOCKS = frozenset({"div", "p", "hr", "table", "blockquote"})
_MAX_HEADER_BLOCKS = 2000  # looked at for a text header: enough for any reply, bounded for a huge one


def _is_quote_element(tag: str, attrs: dict[str, str]) -> bool:
    if set(attrs.get("class", "").split()) & QUOTE_MARKER_CLASSES:
        return True
    if attrs.get("id", "").lower() in _QUOTE_IDS:
        return True
    if tag == "blockquote" and attrs.get("type", "").lower() == "cite":
        return True
    return tag == "div" and bool(_OUTLOOK_BORDER_RE.search(attrs.get("style", "")))


class _QuoteFinder(HTMLParser):
    """The offsets of the block start tags, and of the first element that starts quoted history."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.line_starts = [0]
        for match in re.finditer("\n", html):
            self.line_starts.append(match.end())
        self.blocks: list[int] = []
        self.quote_at: int | None = None

    def _offset(self) -> int:
        line, column = self.getpos()
        return self.line_starts[line - 1] + column

    def handle_starttag(self, tag, attrs):
        if self.quote_at is not None:
            return
        offset = self._offset()
        if _is_quote_element(tag, {name: value or "" for name, value in attrs}):
            self.quote_at = offset
        elif tag in _HEADER_BLOCKS and len(self.blocks) < _MAX_HEADER_BLOCKS:
            self.blocks.append(offset)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)


def _header_lines(html: str) -> list[str]:
    return [line for line in html_to_text(html).split("\n") if line.strip()][:5]


def _starts_with_header(html: str) -> bool:
    lines = _header_lines(html)
    return bool(lines) and (_is_attribution(lines, 0) or _is_outlook_header(lines, 0))


def split_reply_html(html: str) -> tuple[str, str]:
    """(new part, quoted history) of a reply's HTML, cut where its mail client put the history
    (_is_quote_element), or else at a block whose text is a quote header; a header line just
    above the element ("On ... wrote:" before Apple Mail's blockquote) goes with the history.
    (html, "") when there is nothing to fold or nothing new above it. Both parts are pieces of
    markup cut at a tag: sanitise each (sanitize.sanitize_html) before showing it."""
    if not html:
        return html, ""
    finder = _QuoteFinder(html)
    finder.feed(html)
    finder.close()
    cut = finder.quote_at
    before = [offset for offset in finder.blocks if cut is None or offset < cut]
    if cut is not None:
        # The header line of the quote, when it stands in a block of its own just above.
        for offset in before[-3:]:
            if _starts_with_header(html[offset:cut]):
                cut = offset
                break
    else:
        # Each block's first lines: up to the fourth block after it, 4,000 characters at most.
        ends = [*before[4:], *[len(html)] * min(4, len(before))]
        cut = next((offset for offset, end in zip(before, ends, strict=True) if _starts_with_header(html[offset : min(end, offset + 4000)])), None)
    if cut is None:
        return html, ""
    new, quoted = html[:cut], html[cut:]
    if not html_to_text(new).strip() or not html_to_text(quoted).strip():
        return html, ""
    return new, quoted
