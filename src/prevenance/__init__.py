"""Prévenance: an open-source customer-care platform."""
