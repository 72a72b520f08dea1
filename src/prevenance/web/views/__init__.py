"""The web pages, by sub-domain: home (dashboard, public consent link), customers, merge, api_keys."""
