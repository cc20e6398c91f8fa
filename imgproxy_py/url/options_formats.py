"""The URL builder's methods for format options: preserve_hdr, best_format.

A mixin of :class:`imgproxy_py.url.options.Options`; each method returns a new object.
"""

from __future__ import annotations

from typing import Self

from imgproxy_py.url.arguments import fmt_bool
from imgproxy_py.url.chain import OptionChain


class FormatMethods(OptionChain):
    """Format options of the URL builder."""

    def preserve_hdr(self, enabled: bool = True) -> Self:
        """``ph:%bool``: keep a 16-bit source 16-bit where the result format can hold it."""
        return self._push("ph", "preserve_hdr", fmt_bool(enabled))

    def best_format(self) -> Self:
        """``f:best``: the smallest of the candidate formats (the URL's ``@best`` does the same)."""
        return self._push("f", "format", "best")
