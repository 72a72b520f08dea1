import unicodedata


def search_key(value: str | None) -> str:
    """Fold a name for prefix search: lower case, accents removed, spaces squeezed.

    "Éloïse  D'Arc" and "eloise d'arc" give the same key, so a search finds both.
    """
    if not value:
        return ""
    decomposed = unicodedata.normalize("NFKD", value.casefold())
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.split())


def next_prefix(prefix: str) -> str:
    """The smallest string greater than every string that starts with `prefix` (for range scans)."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1) if prefix else ""
