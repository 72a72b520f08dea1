"""How a timeline entry's stored summary is shown to the person reading it.

A summary is stored as text when the interaction is written, in the language active then
(a worker's, or another agent's). An app that writes summaries from its own translated
labels registers a localizer here, which recognises its labels in any of the site's
languages and writes them again in the reader's; the pages show `localized_summary(...)`.
"""

from collections.abc import Callable

_localizers: list[Callable[[str], str | None]] = []


def register_summary_localizer(localizer: Callable[[str], str | None]) -> None:
    """`localizer(summary)` returns the summary in the active language, or None when the
    summary is not one of its labels. Registered once per app (its AppConfig.ready)."""
    if localizer not in _localizers:
        _localizers.append(localizer)


def localized_summary(summary: str) -> str:
    for localizer in _localizers:
        localized = localizer(summary)
        if localized is not None:
            return localized
    return summary
