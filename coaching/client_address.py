"""Which address a request comes from, for the rate limits and the admin sign-in lockout alike.

Behind a proxy that adds X-Forwarded-For (RATELIMIT_TRUST_FORWARDED_FOR on), the address is the
header's *last* entry: the one our proxy wrote. Earlier entries are whatever the client sent, so
trusting them would let anyone pick a fresh address for every request and walk past every limit.
Without the setting the header is ignored and REMOTE_ADDR is the client.
"""

import ipaddress

from django.conf import settings


def client_ip(request) -> str:
    """The client's address as text ('unknown' when there is none)."""
    address = request.META.get("REMOTE_ADDR", "")
    if getattr(settings, "RATELIMIT_TRUST_FORWARDED_FOR", False):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").strip()
        if forwarded:
            address = forwarded.split(",")[-1].strip()
    return address or "unknown"


def normalised_ip(text: str) -> str | None:
    """`text` as a normalised IP address, or None when it is not one."""
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        return None
