"""Customer HTML made safe to show to agents, and turned into plain text when no text part was sent."""

import re
from html.parser import HTMLParser

import nh3

# No iframes, forms, media or styles: a message is read, never run. Images stay only when they point
# inside the message itself (cid:); remote images are tracking pixels or leak that the mail was opened.
_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "dd", "del", "div", "dl", "dt",
    "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "li", "ol", "p", "pre", "q",
    "s", "small", "span", "strike", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th",
    "thead", "tr", "u", "ul",
}  # fmt: skip
_DROP_WITH_CONTENT = {
    "script", "style", "iframe", "frame", "frameset", "object", "embed", "applet", "noscript",
    "template", "title", "head", "svg", "math", "select", "textarea", "button", "audio", "video",
}  # fmt: skip
_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
    "ol": {"start"},
    "blockquote": {"cite", "type"},
    "div": {"class"},
}
# The markup mail clients put around the history they quote under a reply (mail.quotes folds it
# in the thread): these classes are kept through sanitising, and no other (a sender's own
# class could take the page's styles). Ids are not kept (two messages would repeat one).
QUOTE_MARKER_CLASSES = frozenset({"gmail_quote", "gmail_quote_container", "gmail_attr", "moz-cite-prefix", "yahoo_quoted"})
_LINK_SCHEMES = ("http://", "https://", "mailto:", "tel:")


def _keep_attribute(tag: str, attribute: str, value: str) -> str | None:
    url = value.strip().lower()
    if tag == "img" and attribute == "src":
        return value if url.startswith("cid:") else None
    if tag == "a" and attribute == "href":
        # Relative links would point into Prévenance itself once the message is displayed there.
        return value if url.startswith(_LINK_SCHEMES) else None
    if tag == "blockquote" and attribute == "cite":
        return None
    if tag == "blockquote" and attribute == "type":
        return "cite" if url == "cite" else None
    if attribute == "class":
        kept = [name for name in value.split() if name in QUOTE_MARKER_CLASSES]
        return " ".join(kept) or None
    return value


_CLEANER = nh3.Cleaner(
    tags=_TAGS,
    clean_content_tags=_DROP_WITH_CONTENT,
    attributes=_ATTRIBUTES,
    attribute_filter=_keep_attribute,
    url_schemes={"http", "https", "mailto", "tel", "cid"},
    link_rel="noopener noreferrer nofollow",
    strip_comments=True,
)


# The HTML parser under nh3 takes time in the square of the nesting depth of block elements
# (each <div>, <li>, <blockquote> start tag scans the open ones): 20,000 nested <dl><dd> in a
# 160 KB email took 4 s, a megabyte would take minutes. Mail clients nest a few hundred deep
# at most (a long thread of quoted replies); deeper HTML is not kept (its text still is).
MAX_HTML_NESTING = 1000
_TAG_RE = re.compile(r"<(/?)([a-zA-Z][^\s/>]*)")
# Never open (void elements), or closed by the next of their kind (an unclosed <p> or <li> each
# line is common); nesting them takes an element counted here (<ul>, <table>, <dl>).
_NOT_COUNTED = {
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr",
    "p", "li", "dt", "dd", "tr", "td", "th", "tbody", "thead", "tfoot", "colgroup", "caption", "option", "optgroup",
    "rb", "rt", "rp", "rtc",
}  # fmt: skip


def too_deeply_nested(html: str) -> bool:
    """Elements open more than MAX_HTML_NESTING deep, counted in one pass over the tags: an end
    tag closes only when an element of its name is open (the parser ignores the others)."""
    depth, open_by_name = 0, {}
    for match in _TAG_RE.finditer(html or ""):
        name = match.group(2).lower()
        if name in _NOT_COUNTED:
            continue
        if not match.group(1):
            depth += 1
            open_by_name[name] = open_by_name.get(name, 0) + 1
            if depth > MAX_HTML_NESTING:
                return True
        elif open_by_name.get(name):
            depth -= 1
            open_by_name[name] -= 1
    return False


def sanitize_html(html: str) -> str:
    """Scripts, event handlers, javascript: URLs, frames, forms and remote images removed.
    HTML nested too deeply to parse in reasonable time gives nothing (too_deeply_nested)."""
    if not html or too_deeply_nested(html):
        return ""
    return _CLEANER.clean(html).strip()


_BLOCKS = {
    "p", "div", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol", "pre",
    "hr", "blockquote", "dl", "dt", "dd", "section", "article", "header", "footer",
}  # fmt: skip
_SKIP = _DROP_WITH_CONTENT
# Only ASCII whitespace collapses: a no-break space before "€" or ":" is French typography, kept.
_SPACES_RE = re.compile(r"[ \t\r\n\f]+")


class _TextExtractor(HTMLParser):
    """Text as a reader sees it: blocks on their own lines, quoted blocks prefixed with "> "."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.current: list[str] = []
        self.quote_depth = 0
        self.skip_depth = 0
        self.pre_depth = 0

    def _break(self):
        line = "".join(self.current)
        if not self.pre_depth:
            line = _SPACES_RE.sub(" ", line).strip(" ")
        self.lines.append("> " * self.quote_depth + line if line else ">" * self.quote_depth)
        self.current = []

    def handle_starttag(self, tag, attrs):
        if tag == "br":
            self._break()
        elif tag in _SKIP:
            self.skip_depth += 1
        elif tag in _BLOCKS:
            if self.current:
                self._break()
            if tag == "li":
                self.current.append("- ")
            elif tag == "blockquote":
                self.quote_depth += 1
            elif tag == "pre":
                self.pre_depth += 1
        elif tag in ("td", "th") and self.current:
            self.current.append(" ")

    def handle_startendtag(self, tag, attrs):
        if tag == "br":
            self._break()
        else:
            self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag):
        if tag in _SKIP:
            self.skip_depth = max(0, self.skip_depth - 1)
        elif tag in _BLOCKS:
            if self.current:
                self._break()
            if tag == "blockquote" and self.quote_depth:
                while self.lines and self.lines[-1] == ">" * self.quote_depth:
                    self.lines.pop()
                self.quote_depth -= 1
            elif tag == "pre":
                self.pre_depth = max(0, self.pre_depth - 1)
            if tag in ("p", "div", "table", "blockquote", "ul", "ol"):
                self.lines.append(">" * self.quote_depth)

    def handle_data(self, data):
        if not self.skip_depth:
            self.current.append(data)

    def text(self) -> str:
        if self.current:
            self._break()
        joined = "\n".join(line.rstrip() for line in self.lines)
        return re.sub(r"\n{3,}", "\n\n", joined).strip()


def html_to_text(html: str) -> str:
    if not html:
        return ""
    extractor = _TextExtractor()
    extractor.feed(html)
    extractor.close()
    return extractor.text()
