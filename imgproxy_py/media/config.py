"""Settings of the media routes (``/media/...``, ``/thumbnail/...``)."""

from __future__ import annotations

from dataclasses import dataclass

from imgproxy_py.envreader import EnvReader
from imgproxy_py.resources import bundled_routes_file


@dataclass(frozen=True)
class MediaConfig:
    routes_path: str = ""  # "": no routes file (the bundled one is the default)
    root: str = ""  # "": IMGPROXY_LOCAL_FILESYSTEM_ROOT
    token_secret: str = ""
    token_ttl: int = 86400
    ttl: int = 86400  # Cache-Control max-age of media responses
    index_refresh_interval: float = 10.0

    @staticmethod
    def from_env(r: EnvReader) -> MediaConfig:
        bundled = bundled_routes_file()
        return MediaConfig(
            routes_path=r.string("IMGPROXY_MEDIA_ROUTES_PATH", str(bundled) if bundled.is_file() else ""),
            root=r.string("IMGPROXY_MEDIA_ROOT"),
            token_secret=r.string("IMGPROXY_MEDIA_TOKEN_SECRET"),
            token_ttl=r.integer("IMGPROXY_MEDIA_TOKEN_TTL", 86400, minimum=1),
            ttl=r.integer("IMGPROXY_MEDIA_TTL", 86400, minimum=0),
            index_refresh_interval=r.number("IMGPROXY_MEDIA_INDEX_REFRESH_INTERVAL", 10.0, minimum=0),
        )
