"""The internal cache's entry format: what ``to_bytes`` writes is read back, and nothing else is
(a disk, a copy or another writer can change a blob in a shared store)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imgproxy_py.cluster.entry import CacheEntry, entry_from_response

ENTRY = entry_from_response(200, "image/jpeg", b"\xff\xd8" + bytes(range(256)) * 4,
                            {"Cache-Control": "max-age=3600, public", "Content-Type": "image/jpeg", "ETag": '"e"',
                             "Content-Disposition": 'inline; filename="photo.jpg"'},
                            now=1_700_000_000.0, source_etag='"source"',
                            source_last_modified="Tue, 01 Dec 2026 00:00:00 GMT")
BLOB = ENTRY.to_bytes()


def with_head(blob: bytes = BLOB, **changes: object) -> bytes:
    """``blob`` (a stored entry) with fields of its JSON head changed."""
    size = int.from_bytes(blob[:4], "big")
    head = json.dumps({**json.loads(blob[4:4 + size]), **changes}).encode()
    return len(head).to_bytes(4, "big") + head + blob[4 + size:]


def test_an_entry_is_read_back_as_written() -> None:
    assert CacheEntry.from_bytes(BLOB) == ENTRY


@pytest.mark.parametrize("change", ["cut", "grown"])
def test_entries_know_their_body_size(change: str) -> None:
    with pytest.raises(ValueError):
        CacheEntry.from_bytes(BLOB[:-1] if change == "cut" else BLOB + b"x")
    # An entry stored before the size was kept is read as it is.
    head = b'{"status": 200, "media_type": "image/png", "headers": {}, "stored_at": 1.0, "expires_at": 2.0}'
    assert CacheEntry.from_bytes(len(head).to_bytes(4, "big") + head + b"body").body == b"body"


@pytest.mark.parametrize("changes", [
    pytest.param({"status": 1e400}, id="status-infinite"),
    pytest.param({"status": 8200}, id="status-no-http-status"),
    pytest.param({"status": 304}, id="status-never-stored"),
    pytest.param({"body_size": 1e400}, id="body-size-infinite"),
    pytest.param({"stored_at": 1e400}, id="stored-at-infinite"),
    pytest.param({"expires_at": "nan"}, id="expires-at-nan"),
    pytest.param({"headers": {"X-A\r\nSet-Cookie": "a"}}, id="header-name-line-break"),
    pytest.param({"headers": {"X-A": "a\r\nSet-Cookie: b"}}, id="header-value-line-break"),
    pytest.param({"headers": {"X-A": "\u2603"}}, id="header-value-not-latin-1"),
    pytest.param({"headers": {"X-A": 5}}, id="header-value-not-text"),
    pytest.param({"media_type": "image/png\r\nX: y"}, id="media-type-line-break"),
    pytest.param({"source_etag": "\0"}, id="source-etag-nul"),
])
def test_a_blob_no_entry_of_ours_could_be_is_refused(changes: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        CacheEntry.from_bytes(with_head(**changes))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(BLOB) - 1), st.integers(0, 255)), min_size=1, max_size=6))
def test_a_damaged_blob_is_refused_or_sendable(flips: list[tuple[int, int]]) -> None:
    """Any bytes changed: a ValueError, or an entry whose status and headers a response can send."""
    damaged = bytearray(BLOB)
    for at, value in flips:
        damaged[at] = value
    try:
        entry = CacheEntry.from_bytes(bytes(damaged))
    except ValueError:
        return
    assert entry.status == 200
    for name, value in (*entry.headers.items(), ("Content-Type", entry.media_type)):
        assert "\r" not in name + value and "\n" not in name + value
        (name + value).encode("latin-1")
