# `prevenance create-api-key USERNAME`: Django finds commands by file name, so this hyphenated
# name is the documented one and create_api_key.py (importable) holds the code.
from prevenance.api.management.commands.create_api_key import Command

__all__ = ["Command"]
