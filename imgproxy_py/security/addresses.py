"""Which network addresses a source may be fetched from.

Checked on the address actually connected to (after DNS), for the first request and for
every redirect, so that a hostname resolving to 127.0.0.1 or a redirect to
``http://169.254.169.254/`` is refused like the literal address.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from imgproxy_py.errors import SourceNotAllowedError

_SHARED_ADDRESS_SPACE = ipaddress.ip_network("100.64.0.0/10")


@dataclass(frozen=True)
class AddressPolicy:
    allow_loopback: bool = False
    allow_link_local: bool = False
    allow_private: bool = True

    def check(self, address: str) -> None:
        """Raise :class:`SourceNotAllowedError` if ``address`` (an IP string) is refused."""
        try:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            raise SourceNotAllowedError(f"not an IP address: {address}") from None
        if isinstance(ip, ipaddress.IPv6Address):
            # ::ffff:127.0.0.1 and 64:ff9b::7f00:1 reach IPv4 hosts: judge the IPv4 address.
            mapped = ip.ipv4_mapped or ip.sixtofour
            if mapped is not None:
                ip = mapped
        if ip.is_unspecified or ip.is_multicast or ip.is_reserved:
            raise SourceNotAllowedError(f"source address is not routable: {ip}")
        if ip.is_loopback and not self.allow_loopback:
            raise SourceNotAllowedError(f"source address is loopback: {ip}")
        if ip.is_link_local and not self.allow_link_local:
            raise SourceNotAllowedError(f"source address is link-local: {ip}")
        if not self.allow_private and not ip.is_loopback and not ip.is_link_local and (
                ip.is_private or ip in _SHARED_ADDRESS_SPACE):
            raise SourceNotAllowedError(f"source address is private: {ip}")
