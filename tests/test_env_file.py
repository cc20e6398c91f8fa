"""IMGPROXY_ENV_LOCAL_FILE_PATH: settings from a .env file, laid over the environment."""

from __future__ import annotations

from pathlib import Path

import httpx

from imgproxy_py.config import read_config
from tests.cluster_nodes import Node

ENV_FILE = """
# comments and blank lines are skipped
IMGPROXY_QUALITY=55
IMGPROXY_HEALTH_CHECK_MESSAGE="from the \\"file\\""
IMGPROXY_SERVER_NAME='literal $NAME'
IMGPROXY_PATH_PREFIX=${PREFIX_ROOT}/img
PREFIX_ROOT=/unused
"""


def test_file_values_are_read_and_win(tmp_path: Path) -> None:
    path = tmp_path / "imgproxy.env"
    path.write_text("PREFIX_ROOT=/cdn\n" + ENV_FILE)
    config, problems = read_config({"IMGPROXY_ENV_LOCAL_FILE_PATH": str(path), "IMGPROXY_QUALITY": "90"})
    assert not problems
    assert config.processing.quality == 55  # the file's value, as imgproxy sets it over the process's
    assert config.http.health_check_message == 'from the "file"'
    assert config.http.server_name == "literal $NAME"  # single quotes: no substitution
    assert config.server.path_prefix == "/cdn/img"
    assert "IMGPROXY_ENV_LOCAL_FILE_PATH" in config.settings_read


def test_missing_file_is_a_start_up_problem(tmp_path: Path) -> None:
    _, problems = read_config({"IMGPROXY_ENV_LOCAL_FILE_PATH": str(tmp_path / "missing.env")})
    assert any(p.startswith("IMGPROXY_ENV_LOCAL_FILE_PATH") for p in problems)


def test_the_server_reads_its_env_file(tmp_path: Path) -> None:
    path = tmp_path / "imgproxy.env"
    path.write_text('IMGPROXY_HEALTH_CHECK_MESSAGE="configured by file"\nIMGPROXY_HEALTH_CHECK_PATH=/ready\n')
    node = Node({"IMGPROXY_ENV_LOCAL_FILE_PATH": str(path)})
    try:
        node.wait_ready()
        response = httpx.get(f"{node.base}/ready", timeout=10)
        assert response.status_code == 200 and response.text == "configured by file"
    finally:
        node.stop()
