"""IMGPROXY_SYSLOG_*: the server's log also goes to a syslog server (here a UDP and a TCP
listener on loopback, reading what the server really sends)."""

from __future__ import annotations

import logging
import socket
import time

import pytest

from imgproxy_py.config import read_config
from imgproxy_py.server.syslog_config import SyslogConfig, syslog_handler
from tests.cluster_nodes import Node

USER_FACILITY = 1  # SysLogHandler's default: priority = facility * 8 + severity


def test_the_server_logs_to_syslog_over_udp() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.settimeout(60)
        node = Node({"IMGPROXY_SYSLOG_ENABLE": "true", "IMGPROXY_SYSLOG_NETWORK": "udp",
                     "IMGPROXY_SYSLOG_ADDRESS": f"127.0.0.1:{listener.getsockname()[1]}",
                     "IMGPROXY_SYSLOG_TAG": "imgproxy-test", "IMGPROXY_LOG_LEVEL": "info"})
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                message = listener.recv(65536).decode()
                if "listening on" in message:
                    break
            else:
                pytest.fail("no 'listening on' line reached syslog")
        finally:
            node.stop()
    severity_info = 6
    assert message.startswith(f"<{USER_FACILITY * 8 + severity_info}>imgproxy-test: ")
    assert f"listening on {node.base}" in message


def test_level_filters_and_tcp_frames() -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(10)
        config = SyslogConfig(enabled=True, level=logging.ERROR, network="tcp",
                              address=f"127.0.0.1:{listener.getsockname()[1]}")
        handler = syslog_handler(config)
        logger = logging.getLogger("tests.syslog")
        logger.addHandler(handler)
        try:
            connection, _ = listener.accept()
            with connection:
                logger.warning("not sent: below the level")
                logger.error("disk on fire")
                connection.settimeout(10)
                received = connection.recv(65536)
        finally:
            logger.removeHandler(handler)
            handler.close()
    severity_error = 3
    assert received == f"<{USER_FACILITY * 8 + severity_error}>imgproxy: disk on fire\x00".encode()


@pytest.mark.parametrize(("setting", "value"), [
    ("IMGPROXY_SYSLOG_LEVEL", "verbose"),
    ("IMGPROXY_SYSLOG_NETWORK", "carrier-pigeon"),
    ("IMGPROXY_SYSLOG_ADDRESS", "no-port"),
])
def test_bad_settings_are_start_up_problems(setting: str, value: str) -> None:
    env = {"IMGPROXY_SYSLOG_ENABLE": "true", "IMGPROXY_SYSLOG_NETWORK": "udp", "IMGPROXY_SYSLOG_ADDRESS": "x:514",
           setting: value}
    _, problems = read_config(env)
    assert any(setting in problem for problem in problems)
