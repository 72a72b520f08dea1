# `prevenance poll-imap`: Django finds commands by file name, so this hyphenated name is the
# documented one and poll_imap.py (importable) holds the code.
from prevenance.cases.management.commands.poll_imap import Command

__all__ = ["Command"]
