"""How the origins' client connects: every address checked, the addresses raced as Go dials them.

``CheckedDialer`` is httpcore's network backend for origins.  It resolves the host itself and
checks every address against the address policy (loopback, link-local, private) before
connecting, on every hop of a redirect, so DNS cannot point a source at the inside of the network;
it then connects to a checked address, never to the name again.

A host with several addresses is dialled as Go's dialer dials it for imgproxy ("happy eyeballs",
RFC 8305): the families alternate, the first address is tried, and the next one starts when the
last attempt failed or after 300 ms without an answer, the attempts running side by side; the
first connection wins and the others are dropped.  An origin whose IPv6 address is black-holed
(not refused) is reached over IPv4 in 300 ms instead of after the whole download timeout.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import httpcore

from imgproxy_py.security.addresses import AddressPolicy

FALLBACK_DELAY = 0.3  # Go's net.Dialer.FallbackDelay
Resolver = Callable[[str, int], Awaitable[list[str]]]  # host, port -> its addresses, in the resolver's order
Stream = httpcore.AsyncNetworkStream


async def system_resolver(host: str, port: int) -> list[str]:
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:  # UnicodeError: a host IDNA can't encode
        raise httpcore.ConnectError(f"can't resolve {host}: {exc}") from exc
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class CheckedDialer(httpcore.AsyncNetworkBackend):
    def __init__(self, policy: AddressPolicy, resolver: Resolver = system_resolver) -> None:
        self.policy = policy
        self.resolver = resolver
        self.inner = httpcore.AnyIOBackend()

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: Iterable[Any] | None = None) -> httpcore.AsyncNetworkStream:
        addresses = await self.resolver(host, port)
        for address in addresses:
            self.policy.check(address)  # every address: DNS could answer another one next time
        if not addresses:
            raise httpcore.ConnectError(f"can't resolve {host}")
        return await first_connected(
            interleaved(addresses),
            lambda address: self.inner.connect_tcp(address, port, timeout, local_address, socket_options))

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Iterable[Any] | None = None) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not sources")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


def interleaved(addresses: list[str]) -> list[str]:
    """RFC 8305's order: the resolver's first family first, then the families in turn."""
    first = ipaddress.ip_address(addresses[0]).version
    same = [a for a in addresses if ipaddress.ip_address(a).version == first]
    other = [a for a in addresses if ipaddress.ip_address(a).version != first]
    ordered = [a for pair in zip(same, other, strict=False) for a in pair]
    rest = same[len(other):] if len(same) > len(other) else other[len(same):]
    return ordered + rest


async def first_connected(addresses: list[str], connect: Callable[[str], Awaitable[Stream]],
                          delay: float = FALLBACK_DELAY) -> Stream:
    """The first connection made; the next address is tried when an attempt fails, or after
    ``delay`` without an answer.  Every attempt failed: the first failure, as a ConnectError (a
    refused or unreachable source)."""
    results: asyncio.Queue[tuple[Stream | None, Exception | None]] = asyncio.Queue()

    async def attempt(address: str) -> None:
        try:
            stream = await connect(address)
        except Exception as exc:
            results.put_nowait((None, exc))
        else:
            results.put_nowait((stream, None))

    waiting = list(addresses)
    tasks: list[asyncio.Task[None]] = []
    failures: list[Exception] = []
    winner: Stream | None = None

    def start_next() -> None:
        tasks.append(asyncio.create_task(attempt(waiting.pop(0))))

    try:
        start_next()
        while True:
            try:
                stream, failure = await asyncio.wait_for(results.get(), delay if waiting else None)
            except TimeoutError:  # no answer yet: the next address starts alongside
                start_next()
                continue
            if stream is not None:
                winner = stream
                return stream
            assert failure is not None
            failures.append(failure)
            if waiting:  # a failure: the next address at once
                start_next()
            elif len(failures) == len(tasks):
                raise httpcore.ConnectError(str(failures[0])) from failures[0]
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        while not results.empty():  # a connection made after the winner's: not used
            stream, _ = results.get_nowait()
            if stream is not None and stream is not winner:
                await stream.aclose()
