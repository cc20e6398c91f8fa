"""imgproxy's log settings: the log's format and level (``IMGPROXY_LOG_*``), and syslog
(``IMGPROXY_SYSLOG_*``: the log also goes to a syslog server, local or over the network,
through the standard library's ``SysLogHandler``)."""

from __future__ import annotations

import logging
import logging.handlers
import os
import socket
from dataclasses import dataclass

from imgproxy_py.envreader import EnvReader

# imgproxy's log formats, and its levels (``warn``) with ``warning`` as Python spells it.
LOG_FORMATS = ("pretty", "structured", "json", "gcp")
LOG_LEVELS = {"debug": "debug", "info": "info", "warn": "warning", "warning": "warning", "error": "error"}
LEVELS = {"crit": logging.CRITICAL, "error": logging.ERROR, "warn": logging.WARNING, "warning": logging.WARNING,
          "info": logging.INFO, "debug": logging.DEBUG}
# imgproxy's networks that a SysLogHandler can speak: the socket type for each.
NETWORKS = {"udp": socket.SOCK_DGRAM, "udp4": socket.SOCK_DGRAM, "udp6": socket.SOCK_DGRAM,
            "tcp": socket.SOCK_STREAM, "tcp4": socket.SOCK_STREAM, "tcp6": socket.SOCK_STREAM,
            "unixgram": socket.SOCK_DGRAM, "unix": socket.SOCK_STREAM}
LOCAL_SOCKET = "/dev/log"


@dataclass(frozen=True)
class SyslogConfig:
    enabled: bool = False
    level: int = logging.INFO
    network: str = ""  # blank: the local syslog
    address: str = ""
    tag: str = "imgproxy"  # imgproxy's, so that existing syslog rules keep matching

    @staticmethod
    def from_env(r: EnvReader) -> SyslogConfig:
        level = r.choice("IMGPROXY_SYSLOG_LEVEL", "info", LEVELS)
        network = r.string("IMGPROXY_SYSLOG_NETWORK").lower()
        if network and network not in NETWORKS:
            r.errors.append(f"IMGPROXY_SYSLOG_NETWORK: {network!r} is not one of {', '.join(NETWORKS)}")
            network = ""
        config = SyslogConfig(enabled=r.boolean("IMGPROXY_SYSLOG_ENABLE", False), level=LEVELS[level],
                              network=network, address=r.string("IMGPROXY_SYSLOG_ADDRESS"),
                              tag=r.string("IMGPROXY_SYSLOG_TAG", "imgproxy"))
        if config.enabled and network and not network.startswith("unix") and _host_port(config.address) is None:
            r.errors.append(f"IMGPROXY_SYSLOG_ADDRESS: {config.address!r} is not host:port")
        if config.enabled and network.startswith("unix") and not config.address:
            r.errors.append("IMGPROXY_SYSLOG_ADDRESS: the socket's path is required with a unix network")
        return config


def _host_port(address: str) -> tuple[str, int] | None:
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        return None
    return host.strip("[]"), int(port)


def syslog_handler(config: SyslogConfig) -> logging.Handler:
    """The handler for ``config`` (raises ``OSError`` when a stream connection fails)."""
    address: str | tuple[str, int]
    if not config.network:
        address = LOCAL_SOCKET if os.path.exists(LOCAL_SOCKET) else ("localhost", 514)
        handler = logging.handlers.SysLogHandler(address)
    else:
        target = config.address if config.network.startswith("unix") else _host_port(config.address)
        assert target is not None  # checked at start-up
        address = target
        handler = logging.handlers.SysLogHandler(address, socktype=NETWORKS[config.network])
    handler.ident = f"{config.tag}: " if config.tag else ""
    handler.setLevel(config.level)
    return handler
