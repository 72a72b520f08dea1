# `prevenance refresh-search-keys`: Django finds commands by file name, so this hyphenated
# name is the documented one and refresh_search_keys.py (importable) holds the code.
from prevenance.cases.management.commands.refresh_search_keys import Command

__all__ = ["Command"]
