"""Signed webhooks: endpoints, the events apps emit, delivery with retries (docs/webhooks.md).

Submodules: `signing` (secrets and the signature header), `events` (the event catalogue),
`services` (emit, deliver, retry, test event), `destinations` (public addresses only: the
check when a URL is saved and the checked connection of each call), `admin` (endpoints and
the delivery log).
Kept import-free here: `core.models` imports `signing`, and `services` imports the models.
"""
