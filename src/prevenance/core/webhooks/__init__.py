"""Signed webhooks: endpoints, the events apps emit, delivery with retries (docs/webhooks.md).

Submodules: `signing` (secrets and the signature header), `events` (the event catalogue),
`services` (emit, deliver, retry, test event), `admin` (endpoints and the delivery log).
Kept import-free here: `core.models` imports `signing`, and `services` imports the models.
"""
