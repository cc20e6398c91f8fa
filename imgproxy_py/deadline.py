"""The request's time budget, shared by the server (queueing, downloads) and the pipeline."""

from __future__ import annotations

import time
from dataclasses import dataclass

from imgproxy_py.errors import DeadlineExceededError


@dataclass
class Deadline:
    """The request's time budget (``IMGPROXY_TIMEOUT``), checked between steps."""

    expires_at: float

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        return cls(time.monotonic() + seconds)

    def check(self) -> None:
        if time.monotonic() > self.expires_at:
            raise DeadlineExceededError("processing exceeded IMGPROXY_TIMEOUT")

    @property
    def remaining(self) -> float:
        return self.expires_at - time.monotonic()
