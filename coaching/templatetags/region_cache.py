"""`{% cached_region key vary… %}…{% endcached_region %}`: a region of HTML kept in the shared
"schedule" cache under `key` (plus the vary values), or drawn every time when `key` is empty.

The keys are built by coaching/web/calendar_regions.py from everything the region shows, so a
kept region never needs invalidating: anything that changes what it would show changes its key.
An unreachable cache draws the region as if there were none.
"""

import hashlib
import logging

from django import template
from django.core.cache import caches

register = template.Library()
logger = logging.getLogger(__name__)

# Keys change whenever what a region shows changes; this only bounds the memory they hold.
REGION_SECONDS = 600


class CachedRegionNode(template.Node):
    def __init__(self, nodelist, key, vary):
        self.nodelist, self.key, self.vary = nodelist, key, vary

    def render(self, context):
        key = self.key.resolve(context)
        if not key:
            return self.nodelist.render(context)
        vary = repr([value.resolve(context) for value in self.vary])
        full_key = f"region:{key}:{hashlib.sha256(vary.encode()).hexdigest()[:16]}"
        store = caches["schedule"]
        try:
            html = store.get(full_key)
        except Exception:  # noqa: BLE001 - an unreachable cache must never break a page
            logger.warning("region cache unreachable", exc_info=True)
            return self.nodelist.render(context)
        if html is None:
            html = self.nodelist.render(context)
            try:
                store.set(full_key, html, REGION_SECONDS)
            except Exception:  # noqa: BLE001
                logger.warning("region cache unreachable", exc_info=True)
        return html


@register.tag
def cached_region(parser, token):
    bits = token.split_contents()
    if len(bits) < 2:
        raise template.TemplateSyntaxError("cached_region needs a key")
    nodelist = parser.parse(("endcached_region",))
    parser.delete_first_token()
    return CachedRegionNode(nodelist, parser.compile_filter(bits[1]), [parser.compile_filter(b) for b in bits[2:]])
