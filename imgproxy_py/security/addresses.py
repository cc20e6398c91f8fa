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
_UNIQUE_LOCAL = ipaddress.ip_network("fc00::/7")
_NAT64_WELL_KNOWN = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL_USE = ipaddress.ip_network("64:ff9b:1::/48")
_TEREDO = ipaddress.ip_network("2001::/32")
_SIX_TO_FOUR = ipaddress.ip_network("2002::/16")


def embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address that ``ip`` carries, in the forms imgproxy (since 4.0.12) unwraps: a
    wrapped loopback, link-local or private address is judged as that address, so that
    ``64:ff9b::a9fe:a9fe`` behind a NAT64 gateway is the metadata service it reaches.

    IPv4-mapped ``::ffff:a.b.c.d`` and IPv4-compatible ``::a.b.c.d`` (RFC 4291), 6to4 (RFC 3056:
    bits 16-47), NAT64's well-known /96 (RFC 6052: the last 32 bits) and local-use /48 (RFC 8215,
    RFC 6052's /48 layout: bytes 6, 7, 9 and 10), Teredo (RFC 4380: the client's address, the
    last 32 bits inverted) and ISATAP (RFC 5214: an interface ID of ``0000:5efe`` or
    ``0200:5efe`` before the address, under any prefix).  RFC 8215's /48 is read at its real
    bytes (``0064:ff9b:0001``); imgproxy 4.0.12 compares ``64ff:9b01:0000`` and never matches it."""
    packed = ip.packed
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if packed[:12] == bytes(12) and packed[12]:  # not ::/104, where :: and ::1 are
        return ipaddress.IPv4Address(packed[12:])
    if ip in _SIX_TO_FOUR:
        return ipaddress.IPv4Address(packed[2:6])
    if ip in _NAT64_WELL_KNOWN:
        return ipaddress.IPv4Address(packed[12:])
    if ip in _NAT64_LOCAL_USE:
        return ipaddress.IPv4Address(packed[6:8] + packed[9:11])
    if ip in _TEREDO:
        return ipaddress.IPv4Address(bytes(b ^ 0xFF for b in packed[12:]))
    if packed[8] in (0x00, 0x02) and packed[9:12] == b"\x00\x5e\xfe":
        return ipaddress.IPv4Address(packed[12:])
    return None


@dataclass(frozen=True)
class AddressPolicy:
    allow_loopback: bool = False
    allow_link_local: bool = False
    allow_private: bool = True

    def check(self, address: str) -> None:
        """Raise :class:`SourceNotAllowedError` if ``address`` (an IP string) is refused: the
        address itself, or the IPv4 address it carries (``embedded_ipv4``), falls in a refused
        range."""
        try:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            raise SourceNotAllowedError(f"not an IP address: {address}") from None
        embedded = embedded_ipv4(ip) if isinstance(ip, ipaddress.IPv6Address) else None
        # Routability is the carried address's: the wrappers' own prefixes (NAT64's sits in
        # ::/8) are reserved blocks by definition, and an IPv6-only host reaches every IPv4
        # origin through 64:ff9b::/96.
        routed = embedded or ip
        if routed.is_unspecified or routed.is_multicast or ip.is_multicast or (
                routed.is_reserved and not routed.is_loopback):
            raise SourceNotAllowedError(f"source address is not routable: {ip}")
        judged = (ip, embedded) if embedded is not None else (ip,)
        if not self.allow_loopback and any(a.is_loopback for a in judged):
            raise SourceNotAllowedError(f"source address is loopback: {ip}")
        if not self.allow_link_local and any(a.is_link_local for a in judged):
            raise SourceNotAllowedError(f"source address is link-local: {ip}")
        if not self.allow_private and self._private(ip, embedded):
            raise SourceNotAllowedError(f"source address is private: {ip}")

    @staticmethod
    def _private(ip: ipaddress.IPv4Address | ipaddress.IPv6Address, embedded: ipaddress.IPv4Address | None) -> bool:
        if embedded is not None:
            # Python counts ::ffff:0:0/96 and 2001::/23 (Teredo's block) as private: only the
            # wrapper's unique-local prefix (an ISATAP address under fd00::) is private itself.
            wrapped = embedded.is_private and not embedded.is_loopback and not embedded.is_link_local
            return wrapped or embedded in _SHARED_ADDRESS_SPACE or ip in _UNIQUE_LOCAL
        if ip.is_loopback or ip.is_link_local:
            return False
        return ip.is_private or ip in _SHARED_ADDRESS_SPACE
