"""Uploaded videos for ``POST /thumbnail/best``: the multipart ``file`` read as it streams in, and
the store that serves the chosen frames' thumbnails for a while afterwards.

Uploads are held in memory only, never on disk: there is nothing to clean up after a success, a
failure, a timeout or a client that goes away mid-upload.  The size limit
(``IMGPROXY_MAX_VIDEO_FILE_SIZE``) is enforced on every chunk as it arrives, so an over-size
upload is refused once the limit is crossed, not after it has all been received.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass

from python_multipart.multipart import MultipartParser, parse_options_header

from imgproxy_py.errors import BadRequestError, ImgproxyError
from imgproxy_py.media.video import is_video

FIELD = "file"
EXTENSIONS = frozenset({"mp4", "m4v", "avi", "mov", "mkv", "webm"})
# Other form fields are ignored, but their size counts: they may not stretch the body much.
_OTHER_FIELDS_LIMIT = 64 * 1024


class UploadTooLargeError(ImgproxyError):
    status = 413
    default_public_message = "Uploaded video is too big"


class UnsupportedUploadError(ImgproxyError):
    status = 415
    default_public_message = "Upload an MP4, AVI, MOV, MKV or WebM video as the multipart field 'file'"


@dataclass(frozen=True)
class Upload:
    filename: str
    data: bytes


class _Reader:
    """Collects the ``file`` part's bytes from the parser's callbacks."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.data = bytearray()
        self.filename: str | None = None
        self.found = False
        self.other = 0
        self._field = b""
        self._value = b""
        self._headers: dict[bytes, bytes] = {}
        self._in_file = False

    def on_part_begin(self) -> None:
        self._headers = {}
        self._in_file = False

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def on_header_end(self) -> None:
        self._headers[self._field.strip().lower()] = self._value.strip()
        self._field, self._value = b"", b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        name = options.get(b"name", b"").decode("utf-8", "replace")
        if name == FIELD and not self.found:
            self.found = self._in_file = True
            self.filename = options.get(b"filename", b"").decode("utf-8", "replace")

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._in_file:
            self.data += data[start:end]
            if self.limit and len(self.data) > self.limit:
                raise UploadTooLargeError(f"upload passed {self.limit} bytes",
                                          public_message=f"Uploaded video is over {self.limit} bytes")
        else:
            self.other += end - start
            if self.other > _OTHER_FIELDS_LIMIT:
                raise BadRequestError("form fields other than 'file' are too large")


async def read_upload(content_type: str | None, content_length: str | None, chunks: AsyncIterator[bytes],
                      limit: int) -> Upload:
    """The ``file`` part of a multipart body, checked to be a non-empty video within ``limit``."""
    kind, options = parse_options_header(content_type or "")
    boundary = options.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise UnsupportedUploadError("the body is not multipart/form-data")  # the default message says how
    if limit and content_length and content_length.isdigit() and int(content_length) > limit + _OTHER_FIELDS_LIMIT:
        # Refused before reading anything: the body is announced larger than any accepted one.
        raise UploadTooLargeError(f"Content-Length {content_length} is over {limit}",
                                  public_message=f"Uploaded video is over {limit} bytes")
    reader = _Reader(limit)
    callbacks = {name: getattr(reader, name) for name in (
        "on_part_begin", "on_header_field", "on_header_value", "on_header_end", "on_headers_finished",
        "on_part_data")}
    parser = MultipartParser(boundary, callbacks)  # type: ignore[arg-type]
    async for chunk in chunks:
        try:
            parser.write(chunk)
        except ImgproxyError:
            raise
        except Exception as exc:  # the parser's own errors: a malformed body
            raise BadRequestError(f"malformed multipart body: {exc}") from None
    parser.finalize()
    if not reader.found:
        raise BadRequestError(f"the multipart field {FIELD!r} is missing")
    data = bytes(reader.data)
    if not data:
        raise BadRequestError("the uploaded file is empty")
    filename = reader.filename or ""
    extension = filename.rpartition(".")[2].lower() if "." in filename else ""
    if (extension and extension not in EXTENSIONS) or not is_video(data):
        reason = f"{filename!r} is not an MP4, AVI, MOV, MKV or WebM video"
        raise UnsupportedUploadError(reason, public_message=reason[:200])
    return Upload(filename, data)


class FrameStore:
    """JPEG thumbnails under random ids, each kept ``ttl`` seconds, at most ``max_items`` and
    ``max_bytes`` in all (the oldest go first)."""

    def __init__(self, ttl: float, max_items: int = 512, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.ttl = ttl
        self.max_items = max_items
        self.max_bytes = max_bytes
        self._items: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def put(self, jpeg: bytes) -> str:
        key = secrets.token_urlsafe(18)
        with self._lock:
            self._expire(time.monotonic())
            self._items[key] = (time.monotonic() + self.ttl, jpeg)
            self._bytes += len(jpeg)
            while self._items and (len(self._items) > self.max_items or self._bytes > self.max_bytes):
                _, (_, dropped) = self._items.popitem(last=False)
                self._bytes -= len(dropped)
        return key

    def get(self, key: str) -> tuple[bytes, float] | None:
        """The JPEG and the seconds it has left, or None when unknown or expired."""
        now = time.monotonic()
        with self._lock:
            self._expire(now)
            found = self._items.get(key)
        if found is None:
            return None
        expires, jpeg = found
        return jpeg, expires - now

    def __len__(self) -> int:
        return len(self._items)

    def _expire(self, now: float) -> None:
        # Entries are in insertion order and share one ttl, so the expired ones come first.
        while self._items:
            key, (expires, jpeg) = next(iter(self._items.items()))
            if expires > now:
                return
            del self._items[key]
            self._bytes -= len(jpeg)
