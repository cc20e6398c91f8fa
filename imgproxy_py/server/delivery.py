"""What the delivery options ask of the image endpoint: whether this installation lets a URL
use them (security options, bypass_cache), the source's checksum (hashsum) and the cache-tag
headers (cache_tags)."""

from __future__ import annotations

from imgproxy_py.config import Config
from imgproxy_py.errors import ForbiddenError, HashsumMismatchError
from imgproxy_py.media.video_sniff import is_video
from imgproxy_py.options.model import OutputOptions
from imgproxy_py.sources.base import SourceImage

# IMGPROXY_CACHE_TAGS_FORMAT -> the headers that carry the tags.
CACHE_TAG_HEADERS = {
    "all": ("Cache-Tag", "x-amz-meta-cache-tag"),
    "cloudflare": ("Cache-Tag",),
    "cloudfront": ("x-amz-meta-cache-tag",),
    "none": (),
}


def check_allowed(out: OutputOptions, config: Config) -> None:
    """imgproxy's 403 for a security option without ``IMGPROXY_ALLOW_SECURITY_OPTIONS``; the same
    for ``bypass_cache`` without ``IMGPROXY_ALLOW_BYPASS_CACHE``."""
    if out.security.given and not config.security.allow_security_options:
        raise ForbiddenError("Security processing options are not allowed",
                             public_message="Security processing options are not allowed")
    if out.bypass_cache and not config.security.allow_bypass_cache:
        raise ForbiddenError("Bypassing the cache is not allowed",
                             public_message="Bypassing the cache is not allowed (IMGPROXY_ALLOW_BYPASS_CACHE)")


def check_hashsum(out: OutputOptions, source: SourceImage) -> None:
    """The source's digest against ``hashsum``'s: a mismatch is imgproxy's 422.  Videos are not
    checked (imgproxy would have to download all of one), nor a 304's empty answer."""
    expected = out.hashsum
    if expected is None or source.not_modified or is_video(source.data):
        return
    if not expected.matches(source.data):
        raise HashsumMismatchError(f"{source.url}: {expected.type} of the source is not {expected.digest}")


def cache_tag_headers(out: OutputOptions, config: Config) -> dict[str, str]:
    if not out.cache_tags:
        return {}
    value = ",".join(out.cache_tags)
    return {name: value for name in CACHE_TAG_HEADERS[config.delivery.cache_tags_format]}
