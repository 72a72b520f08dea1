"""Prévenance: an open-source customer-care platform."""

# Loaded with the package so that every app's @shared_task binds to the project's Celery app.
from .celery import app as celery_app

__all__ = ["celery_app"]
