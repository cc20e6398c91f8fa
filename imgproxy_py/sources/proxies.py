"""Outbound proxies from the environment, read as imgproxy reads them.

imgproxy's fetcher (and its cloud SDKs) take their proxy from Go's ``http.ProxyFromEnvironment``:
``HTTPS_PROXY`` for https URLs and ``HTTP_PROXY`` for http ones (each name upper-case first, then
lower-case; an http, https or SOCKS5 proxy, a value without a scheme taken as ``http://``);
``NO_PROXY`` lists what goes direct (``*``; an IP or a CIDR; ``example.com``, which also covers
its subdomains; ``.example.com`` or ``*.example.com``, its subdomains only; any of them with a
``:port``); ``localhost`` and loopback addresses never go through a proxy.  ``ProxyRouter`` sends
each request (each hop of a redirect) to the direct transport or to the one for its proxy.

Read once at start-up with the rest of the configuration, so a deployment that runs imgproxy
behind an egress proxy runs us the same way without a new setting.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from imgproxy_py.envreader import EnvReader

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
DEFAULT_PORTS = {"http": "80", "https": "443"}
# What Go's ProxyFromEnvironment takes; a SOCKS proxy is sent the source's host name to resolve.
PROXY_SCHEMES = ("http", "https", "socks5", "socks5h")


@dataclass(frozen=True)
class Bypass:
    """One ``NO_PROXY`` entry: a network (an IP is a one-address network) or a domain."""

    network: IPNetwork | None = None
    domain: str = ""  # with its leading dot
    with_itself: bool = False  # "example.com" also covers example.com itself
    port: str = ""  # "": any port

    def covers(self, host: str, port: str, ip: IPAddress | None) -> bool:
        if self.port and self.port != port:
            return False
        if self.network is not None:
            return ip is not None and ip.version == self.network.version and ip in self.network
        return ip is None and (host.endswith(self.domain) or (self.with_itself and host == self.domain[1:]))


@dataclass(frozen=True)
class ProxySettings:
    http: str = ""  # the proxy of http:// URLs; "": none
    https: str = ""
    bypass: tuple[Bypass, ...] = ()
    bypass_all: bool = False  # NO_PROXY=*

    @staticmethod
    def from_env(r: EnvReader) -> ProxySettings:
        def proxy(upper: str) -> str:
            value = r.string(upper) or r.string(upper.lower())
            if not value:
                return ""
            url = value if "://" in value else f"http://{value}"
            try:
                parsed = httpx.URL(url)
            except httpx.InvalidURL:
                parsed = None
            if parsed is None or parsed.scheme not in PROXY_SCHEMES or not parsed.host:
                r.errors.append(f"{upper}: {value!r} is not an http, https or socks5 proxy URL")
                return ""
            return url

        no_proxy = r.string("NO_PROXY") or r.string("no_proxy")
        entries = [entry.strip().lower() for entry in no_proxy.split(",") if entry.strip()]
        bypass = tuple(rule for rule in map(_bypass, entries) if rule is not None)
        return ProxySettings(proxy("HTTP_PROXY"), proxy("HTTPS_PROXY"), bypass, "*" in entries)

    def proxy_for(self, url: httpx.URL) -> str:
        """The proxy ``url`` goes through; "" where it goes direct."""
        proxy = {"http": self.http, "https": self.https}.get(url.scheme, "")
        if not proxy or self.bypass_all:
            return ""
        host = url.raw_host.decode("ascii").lower()  # IDNA-encoded, as Go compares it
        if host == "localhost":
            return ""
        try:
            ip: IPAddress | None = ipaddress.ip_address(host)
        except ValueError:
            ip = None
        if ip is not None and ip.is_loopback:
            return ""
        port = str(url.port) if url.port is not None else DEFAULT_PORTS[url.scheme]
        return "" if any(rule.covers(host, port, ip) for rule in self.bypass) else proxy


def _bypass(entry: str) -> Bypass | None:
    try:
        return Bypass(network=ipaddress.ip_network(entry, strict=False))
    except ValueError:
        pass
    host, port = entry, ""
    if entry.startswith("["):  # [IPv6]:port
        host, _, rest = entry[1:].partition("]")
        port = rest.removeprefix(":")
    elif entry.count(":") == 1:
        host, port = entry.split(":")
    try:
        return Bypass(network=ipaddress.ip_network(host), port=port)
    except ValueError:
        pass
    host = host.removeprefix("*")
    if not host or host == ".":
        return None  # no host part: ignored, as Go ignores it
    with_itself = not host.startswith(".")
    return Bypass(domain="." + _ascii_host(host.lstrip(".")), with_itself=with_itself, port=port)


def _ascii_host(host: str) -> str:
    """A host name as it travels (IDNA), as Go compares ``NO_PROXY`` entries."""
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host


class ProxyRouter(httpx.AsyncBaseTransport):
    """Sends each request to the transport of its proxy, ``transport_for(proxy URL)``, built once
    for each; ``transport_for("")`` is the direct one."""

    def __init__(self, settings: ProxySettings, transport_for: Callable[[str], httpx.AsyncBaseTransport]) -> None:
        self.settings = settings
        self.transports = {proxy: transport_for(proxy) for proxy in dict.fromkeys(("", settings.http, settings.https))}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self.transports[self.settings.proxy_for(request.url)].handle_async_request(request)

    async def aclose(self) -> None:
        for transport in self.transports.values():
            await transport.aclose()
