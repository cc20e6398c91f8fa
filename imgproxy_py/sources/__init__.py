"""Where source images come from: HTTP(S) origins and the local filesystem."""

from imgproxy_py.sources.fetcher import SourceFetcher, SourceImage

__all__ = ["SourceFetcher", "SourceImage"]
