"""The URL builder's methods for pages, video tiles, caching, integrity and security options:
pages, video_thumbnail_tile, video_thumbnail_animation, bypass_cache, cache_tags, hashsum, max_* limits.

A mixin of :class:`imgproxy_py.url.options.Options`; each method returns a new object.
"""

from __future__ import annotations

from imgproxy_py.url.chain import OptionChain


class DeliveryMethods(OptionChain):
    """Pages, video tiles, caching, integrity and security options of the URL builder."""
