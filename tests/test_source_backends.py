"""The backend protocol: the fetcher's scheme table and the checks every backend shares."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import pytest

from imgproxy_py.config import load_config
from imgproxy_py.errors import SourceNotAllowedError, SourceNotFoundError, SourceTimeoutError, SourceTooBigError
from imgproxy_py.sources import SourceFetcher, SourceImage
from imgproxy_py.sources.base import Conditional, SizeLimit, not_modified


class MemoryBackend:
    """A backend in the protocol's own terms: objects in a dict, served under ``mem://``."""

    schemes: tuple[str, ...] = ("mem",)

    def __init__(self, objects: dict[str, bytes], delay: float = 0.0) -> None:
        self.objects = objects
        self.delay = delay
        self.closed = False

    async def fetch(self, url: str, limit: SizeLimit, conditional: Conditional) -> SourceImage:
        await asyncio.sleep(self.delay)
        data = self.objects.get(url.removeprefix("mem://"))
        if data is None:
            raise SourceNotFoundError(url)
        etag = f'"{len(data)}"'
        if conditional.matches(etag):
            return not_modified(url, etag)
        limit.check_declared(len(data))
        return SourceImage(limit.add(data), url, etag=etag)

    async def close(self) -> None:
        self.closed = True


def fetcher(backend: MemoryBackend, **env: str) -> SourceFetcher:
    config = load_config(env)
    return SourceFetcher(config.fetch, config.security, backends=(backend,))


def run(coro: Coroutine[Any, Any, SourceImage]) -> SourceImage:
    return asyncio.run(coro)


def test_scheme_table_routes_to_the_backend() -> None:
    backend = MemoryBackend({"a.jpg": b"12345"})
    image = run(fetcher(backend).fetch("mem://a.jpg"))
    assert image.data == b"12345" and image.etag == '"5"'
    with pytest.raises(SourceNotFoundError):
        run(fetcher(backend).fetch("mem://missing.jpg"))


def test_unknown_scheme_and_disabled_local_are_refused() -> None:
    f = fetcher(MemoryBackend({}))
    with pytest.raises(SourceNotAllowedError):
        run(f.fetch("ftp://example.com/a.jpg"))
    with pytest.raises(SourceNotAllowedError):
        run(f.fetch("local:///a.jpg"))


def test_size_limit_applies_to_every_backend() -> None:
    backend = MemoryBackend({"big": b"x" * 1000})
    with pytest.raises(SourceTooBigError):
        run(fetcher(backend, IMGPROXY_MAX_SRC_FILE_SIZE="999").fetch("mem://big"))
    assert len(run(fetcher(backend, IMGPROXY_MAX_SRC_FILE_SIZE="1000").fetch("mem://big")).data) == 1000


def test_streaming_limit_counts_every_chunk() -> None:
    limit = SizeLimit("u", 10)
    limit.check_declared(None)  # unknown size: checked while streaming
    limit.add(b"x" * 6)
    with pytest.raises(SourceTooBigError):
        limit.add(b"x" * 5)


def test_conditional_request_answers_not_modified() -> None:
    backend = MemoryBackend({"a": b"abc"})
    image = run(fetcher(backend).fetch("mem://a", request_headers={"If-None-Match": '"3"'}))
    assert image.not_modified and image.data == b""
    assert not run(fetcher(backend).fetch("mem://a", request_headers={"If-None-Match": '"9"'})).not_modified


def test_download_timeout_is_a_source_timeout() -> None:
    slow = MemoryBackend({"a": b"abc"}, delay=5)
    with pytest.raises(SourceTimeoutError):
        run(fetcher(slow, IMGPROXY_DOWNLOAD_TIMEOUT="0.2").fetch("mem://a"))


def test_allowed_sources_apply_before_any_backend() -> None:
    backend = MemoryBackend({"a": b"abc"}, delay=5)
    with pytest.raises(SourceNotAllowedError):
        run(fetcher(backend, IMGPROXY_ALLOWED_SOURCES="https://good.example/").fetch("mem://a"))


def test_close_closes_every_backend() -> None:
    backend = MemoryBackend({})
    asyncio.run(fetcher(backend).close())
    assert backend.closed
