from django.shortcuts import render
from django.utils.cache import patch_vary_headers


def htmx_partial(request) -> bool:
    """True when HTMX asks for a fragment rather than a whole page (NetBox's helper).

    A history restore (back button after hx-push-url, cache miss) needs the whole page.
    """
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def render_page_or_fragment(request, page_template: str, fragment_template: str, context: dict):
    """One view answers both the full page and its HTMX fragment; caches keep them apart."""
    template = fragment_template if htmx_partial(request) else page_template
    response = render(request, template, context)
    patch_vary_headers(response, ("HX-Request",))
    return response
