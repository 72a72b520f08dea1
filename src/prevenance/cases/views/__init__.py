"""The case pages: one module per screen (see cases/urls.py)."""
