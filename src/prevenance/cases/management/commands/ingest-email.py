# `prevenance ingest-email FILE...`: Django finds commands by file name, so this hyphenated
# name is the documented one and ingest_email.py (importable) holds the code.
from prevenance.cases.management.commands.ingest_email import Command

__all__ = ["Command"]
