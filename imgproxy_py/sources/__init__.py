"""Where source images come from: a backend per URL scheme (``http``/``https``, ``local``)
behind the fetcher's scheme table, with a memory-bounded cache in front (``store``)."""

from imgproxy_py.sources.base import SourceBackend, SourceImage
from imgproxy_py.sources.fetcher import SourceFetcher

__all__ = ["SourceBackend", "SourceFetcher", "SourceImage"]
