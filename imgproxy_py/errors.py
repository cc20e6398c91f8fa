"""Every error a request can end with.

Each class carries the HTTP status imgproxy uses and a short public message. The
detail (what exactly was wrong) goes to the log, never to the client, unless it is
safe and useful to show (for example which option was bad).  One handler in
``server.app`` turns them into responses.
"""

from __future__ import annotations


class ImgproxyError(Exception):
    """Base class: ``status`` and ``public_message`` go to the client, ``str(self)`` to the log."""

    status: int = 500
    default_public_message: str = "Internal error"
    # imgproxy's error category: the ``type`` label of its ``errors_total`` metric.
    category: str = "processing"

    def __init__(self, message: str = "", *, public_message: str | None = None) -> None:
        super().__init__(message or self.default_public_message)
        self.public_message = public_message or self.default_public_message


class InvalidURLError(ImgproxyError):
    """Bad path, option or argument: imgproxy answers 404 "Invalid URL"."""

    category = "path_parsing"
    status = 404
    default_public_message = "Invalid URL"

    def __init__(self, message: str = "") -> None:
        # The reason is useful to the URL's author and reveals nothing secret.
        public = f"Invalid URL: {message}" if message else "Invalid URL"
        super().__init__(message or "Invalid URL", public_message=public)


class BadRequestError(InvalidURLError):
    """A media route's query is malformed (imgproxy has no such routes; 400 as HTTP means)."""

    status = 400


class ForbiddenError(ImgproxyError):
    category = "security"
    status = 403
    default_public_message = "Forbidden"


class SignatureError(ForbiddenError):
    default_public_message = "Invalid signature"


class SourceNotAllowedError(ImgproxyError):
    category = "security"
    status = 404
    default_public_message = "Invalid source"


class SourceNotFoundError(ImgproxyError):
    category = "download"
    status = 404
    default_public_message = "Source image not found"


class SourceBadGatewayError(ImgproxyError):
    category = "download"
    status = 502
    default_public_message = "Can't download source image"


class SourceUnreachableError(ImgproxyError):
    """A refused or broken connection, a redirect loop: imgproxy answers 404 "Source is unreachable"."""

    status = 404
    default_public_message = "Source is unreachable"


class OriginStatusError(ImgproxyError):
    """The origin answered an error status: imgproxy passes a 4xx on as it is and makes a 5xx a 502."""

    default_public_message = "Source is unreachable"

    def __init__(self, origin_status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.origin_status = origin_status
        self.response_headers = headers or {}  # what a store's error answer said (a bucket's region)
        self.status = origin_status if 400 <= origin_status < 500 else 502 if origin_status >= 500 else 404


class SourceIncompleteError(ImgproxyError):
    """The origin closed the connection before the whole body came: imgproxy answers 422."""

    status = 422
    default_public_message = "Source response is incomplete"


class SourceTimeoutError(ImgproxyError):
    category = "download"
    status = 504
    default_public_message = "Source image download timed out"


class SourceTooBigError(ImgproxyError):
    category = "image_data_size"
    status = 422
    default_public_message = "Source image file is too big"


class SourceFormatError(ImgproxyError):
    """The first bytes of a download are of no kind of file the server reads.  imgproxy finds the
    type while downloading and stops there: a failed download (a fallback image stands in), never
    reported, 422 "Invalid source image"."""

    status = 422
    default_public_message = "Invalid source image"


# A source that could not be had: what IMGPROXY_REPORT_DOWNLOADING_ERRORS decides the reporting of.
DOWNLOAD_ERRORS: tuple[type[ImgproxyError], ...] = (
    SourceNotFoundError, SourceBadGatewayError, SourceTimeoutError, SourceTooBigError, SourceUnreachableError,
    OriginStatusError, SourceIncompleteError)
# What a fallback image stands in for: a source that could not be had, or that is no image.
FALLBACK_ERRORS: tuple[type[ImgproxyError], ...] = (*DOWNLOAD_ERRORS, SourceFormatError)


class ObjectNotFoundError(ImgproxyError):
    """A route asked for the n-th detected object and there are fewer."""

    status = 404
    default_public_message = "Object not found"


class UnprocessableImageError(ImgproxyError):
    status = 422
    default_public_message = "Unprocessable image"


class UnsupportedFormatError(UnprocessableImageError):
    default_public_message = "Unsupported image format"


class HashsumMismatchError(UnprocessableImageError):
    """The source's digest is not the one the ``hashsum`` option gave."""

    default_public_message = "Source image hashsum mismatch"


class ResolutionTooBigError(UnprocessableImageError):
    category = "security"
    default_public_message = "Source image resolution is too big"


class FeatureUnavailableError(ImgproxyError):
    """The request needs an optional part this installation lacks (an extra not installed).

    The public message says which extra to install: the admin can fix it, the client can't."""

    status = 501
    default_public_message = "Not implemented"

    def __init__(self, reason: str) -> None:
        super().__init__(reason, public_message=f"Not implemented: {reason}")


class ResultTooBigError(UnprocessableImageError):
    """The options ask for an image larger than libvips can address or the server will hold."""

    default_public_message = "Result image is too big"


class QueueFullError(ImgproxyError):
    category = "queue"
    status = 429
    default_public_message = "Too many requests"


class DeadlineExceededError(ImgproxyError):
    category = "timeout"
    status = 503
    default_public_message = "Timeout"


class RequestCancelledError(ImgproxyError):
    """The client closed the connection before its answer was ready: the work stops there, as
    imgproxy's stops when Go cancels the request's context.  Logged with imgproxy's 499 ("client
    closed request", nginx's code); nobody is left to read the answer; never reported."""

    category = "timeout"
    status = 499
    default_public_message = "Cancelled"


class ResponseWriteError(ImgproxyError):
    """The client went away (or stopped reading) before it had the whole response.  Nothing is
    answered; it is logged, and reported to error services with ``IMGPROXY_REPORT_IO_ERRORS``."""

    category = "IO"
    default_public_message = "Failed to write response"


class ResponseAborted(Exception):
    """Ends a response mid-body (a ``raw`` stream whose source stopped): the server closes the
    connection, as Go's server does when a handler's copy fails, so the client sees it cut, never
    complete.  Logged where it is raised; there is nothing left to answer."""


class NotModified(Exception):
    """Not an error: the client's copy is current; the handler answers 304."""

    def __init__(self, etag: str | None = None, last_modified: str | None = None) -> None:
        super().__init__("not modified")
        self.etag = etag
        self.last_modified = last_modified


class ConfigError(Exception):
    """Start-up configuration is invalid; lists every problem at once."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid configuration:\n  " + "\n  ".join(problems))
        self.problems = problems
