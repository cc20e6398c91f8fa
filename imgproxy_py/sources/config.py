"""Settings of source downloads."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from imgproxy_py import __version__
from imgproxy_py.envreader import EnvReader
from imgproxy_py.sources.origin_headers import OriginHeadersConfig
from imgproxy_py.sources.proxies import ProxySettings


@dataclass(frozen=True)
class FetchConfig:
    download_timeout: float = 5.0
    max_redirects: int = 10
    user_agent: str = f"imgproxy_py/{__version__}"
    local_filesystem_root: str = ""
    ignore_ssl_verification: bool = False
    max_src_file_size: int = 0
    client_keep_alive_timeout: float = 90.0  # 0: no keep-alive
    source_url_query_separator: str = "?"  # for s3://, gs://, abs://; "": no query
    origin_headers: OriginHeadersConfig = field(default_factory=OriginHeadersConfig)
    proxies: ProxySettings = field(default_factory=ProxySettings)  # HTTP(S)_PROXY, NO_PROXY

    @staticmethod
    def from_env(r: EnvReader) -> FetchConfig:
        root = r.string("IMGPROXY_LOCAL_FILESYSTEM_ROOT")
        if root and not Path(root).is_dir():
            r.errors.append(f"IMGPROXY_LOCAL_FILESYSTEM_ROOT: {root!r} is not a directory")
            root = ""
        return FetchConfig(
            download_timeout=r.number("IMGPROXY_DOWNLOAD_TIMEOUT", 5.0, minimum=0.001),
            max_redirects=r.integer("IMGPROXY_MAX_REDIRECTS", 10, minimum=0),
            user_agent=r.string("IMGPROXY_USER_AGENT", "imgproxy_py/%current_version").replace(
                "%current_version", __version__),
            local_filesystem_root=str(Path(root).resolve()) if root else "",
            ignore_ssl_verification=r.boolean("IMGPROXY_IGNORE_SSL_VERIFICATION", False),
            max_src_file_size=r.integer("IMGPROXY_MAX_SRC_FILE_SIZE", 0, minimum=0),
            client_keep_alive_timeout=r.number("IMGPROXY_CLIENT_KEEP_ALIVE_TIMEOUT", 90.0, minimum=0),
            # not stripped: a blank value turns query extraction off
            source_url_query_separator=r.env.get("IMGPROXY_SOURCE_URL_QUERY_SEPARATOR", "?"),
            origin_headers=OriginHeadersConfig.from_env(r),
            proxies=ProxySettings.from_env(r),
        )
