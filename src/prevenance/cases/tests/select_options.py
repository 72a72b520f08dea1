"""The options of a <select> as a page renders them, for tests of the case page's pickers
(root cause, assignee): grouped by <optgroup>, with what is selected."""

from html.parser import HTMLParser


class _SelectOptions(HTMLParser):
    def __init__(self, name: str):
        super().__init__()
        self.name, self.options, self._inside, self._group, self._option = name, [], False, None, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "select" and attrs.get("name") == self.name:
            self._inside = True
        elif self._inside and tag == "optgroup":
            self._group = attrs["label"]
        elif self._inside and tag == "option":
            self._option = [self._group, "", attrs["value"], "selected" in attrs]

    def handle_data(self, data):
        if self._option is not None:
            self._option[1] += data

    def handle_endtag(self, tag):
        if tag == "option" and self._option is not None:
            self.options.append(tuple(self._option))
            self._option = None
        elif tag == "optgroup":
            self._group = None
        elif tag == "select":
            self._inside = False


def select_options(response, name: str) -> list[tuple]:
    """[(group label or None, option label, value, selected)] of the <select name=`name`>."""
    parser = _SelectOptions(name)
    parser.feed(response.content.decode())
    return parser.options
