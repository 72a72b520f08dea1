"""A user's own preferences: for now the language of their pages and of the emails sent to them
(docs/dashboard.md, "My language"). Writes in services.py, reads in selectors.py."""
