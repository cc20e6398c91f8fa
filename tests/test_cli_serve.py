"""``imgproxy-py serve`` as an admin meets it: version, help, the listening line, a busy port,
and settings that nothing reads."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from imgproxy_py import __version__
from imgproxy_py.config import read_config
from imgproxy_py.server.composition import build_services
from imgproxy_py.settings_check import DEPRECATED_SETTINGS, NOTHING_TO_DO, imgproxy_settings, unread_settings
from tests.ports import free_port

PACKAGE = Path(__file__).resolve().parents[1] / "imgproxy_py"
CLI = [sys.executable, "-m", "imgproxy_py"]


def clean_env(**extra: str) -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if not k.startswith("IMGPROXY_")}, **extra}


def test_version() -> None:
    result = subprocess.run([*CLI, "--version"], capture_output=True, text=True, check=False)
    assert result.returncode == 0
    assert result.stdout.strip() == f"imgproxy-py {__version__}"


def test_serve_help_names_the_key_settings() -> None:
    result = subprocess.run([*CLI, "serve", "--help"], capture_output=True, text=True, check=False)
    assert result.returncode == 0
    for name in ("IMGPROXY_BIND", "IMGPROXY_KEY", "IMGPROXY_SALT", "IMGPROXY_LOCAL_FILESYSTEM_ROOT", "--demo"):
        assert name in result.stdout
    assert "README" in result.stdout


def test_busy_port_is_one_line_and_a_failure() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run([*CLI, "serve"], env=clean_env(IMGPROXY_BIND=f"127.0.0.1:{port}"),
                                capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert "listening on" not in result.stderr + result.stdout


def served_log_lines(port: int, probe: str, **settings: str) -> list[str]:
    """The non-blank lines ``imgproxy-py serve`` logs (to a pipe) until ``probe`` was answered."""
    env = clean_env(IMGPROXY_BIND=f"127.0.0.1:{port}", **settings)
    process = subprocess.Popen([*CLI, "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx.get(f"http://127.0.0.1:{port}{probe}", timeout=5)
                break
            except httpx.TransportError:
                time.sleep(0.3)
    finally:
        process.terminate()
        out, _ = process.communicate(timeout=30)
    return [line for line in out.splitlines() if line.strip()]


def test_json_log_is_one_iso_line_each_and_names_the_address(tmp_path: Path) -> None:
    port = free_port()
    # A request that fails inside (missing source) must still log on one line.
    lines = served_log_lines(port, "/unsafe/plain/local:///missing.jpg", IMGPROXY_LOG_FORMAT="json",
                             IMGPROXY_QUALTY="70", IMGPROXY_LOCAL_FILESYSTEM_ROOT=str(tmp_path))
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", r["time"]) for r in records)
    assert any(r["msg"].endswith(f"listening on http://127.0.0.1:{port}") for r in records)
    assert any("IMGPROXY_QUALTY" in r["msg"] and "IMGPROXY_QUALITY" in r["msg"] for r in records)


def test_log_off_a_terminal_is_imgproxys_structured_by_default() -> None:
    """No IMGPROXY_LOG_FORMAT and a pipe for the log: logfmt lines, as imgproxy writes them."""
    port = free_port()
    lines = served_log_lines(port, "/health")
    assert lines and all(re.match(r'time="[^"]+" level="(DEBUG|INFO|WARNING|ERROR|CRITICAL)" msg="', line)
                         for line in lines), lines
    assert any(f'listening on http://127.0.0.1:{port}"' in line for line in lines)


def test_unread_settings_are_named_with_the_closest_name() -> None:
    config, problems = read_config({"IMGPROXY_QUALTY": "70", "IMGPROXY_QUALITY": "70",
                                    "IMGPROXY_BRAND_NEW_THING": "1", "HOME": "/"})
    assert not problems
    build_services(config)
    warnings = unread_settings(config.settings_given, config.settings_read)
    assert len(warnings) == 2
    unknown, typo = warnings  # in name order
    assert "IMGPROXY_QUALTY" in typo and "IMGPROXY_QUALITY" in typo
    assert "IMGPROXY_BRAND_NEW_THING" in unknown and "did you mean" not in unknown
    # A setting of a later imgproxy, not read yet, is named as imgproxy's.
    (unsupported,) = unread_settings(["IMGPROXY_SMART_CROP_ADVANCED"], config.settings_read - {
        "IMGPROXY_SMART_CROP_ADVANCED"})
    assert "IMGPROXY_SMART_CROP_ADVANCED" in unsupported and "imgproxy setting" in unsupported
    (licence,) = unread_settings(["IMGPROXY_LICENSE_KEY"], config.settings_read)
    assert "nothing to act on" in licence and "licence" in licence


def test_every_setting_the_code_names_is_read_at_start_up() -> None:
    # The config root must look up every setting, even when unset: a setting read later (or
    # only when another is on) would be reported as unknown to an admin who set it.
    config, _ = read_config({})
    named = set()
    for path in PACKAGE.rglob("*.py"):
        named |= set(re.findall(r'"(IMGPROXY_[A-Z0-9_]*[A-Z0-9])"', path.read_text()))
    internal = {name for name in named if name.startswith("IMGPROXY_PY_INTERNAL_")}  # parent to child process
    assert named - internal - NOTHING_TO_DO.keys() - config.settings_read == set()


def test_every_imgproxy_setting_is_read_or_explained() -> None:
    """Each setting imgproxy documents (open source and Pro) is read, or is deprecated there, or
    has nothing to act on here with the reason logged: none is ignored in silence."""
    config, _ = read_config({})
    build_services(config)
    assert sorted(imgproxy_settings() - config.settings_read - NOTHING_TO_DO.keys() - DEPRECATED_SETTINGS.keys()) == []


def test_every_setting_read_is_in_the_readme() -> None:
    # An admin looks a setting up by its full name: each one the server reads is spelled out.
    config, _ = read_config({})
    build_services(config)
    readme = (PACKAGE.parent / "README.md").read_text(encoding="utf-8")
    ours = {name for name in config.settings_read if name.startswith("IMGPROXY_")}
    assert len(ours) > 200
    assert sorted(name for name in ours if f"`{name}`" not in readme and f"{name}=" not in readme) == []


def test_imgproxy_settings_list_is_plausible() -> None:
    names = imgproxy_settings()
    assert {"IMGPROXY_KEY", "IMGPROXY_SALT", "IMGPROXY_USE_S3", "IMGPROXY_CACHE_USE"} <= names
    assert all(re.fullmatch(r"IMGPROXY_[A-Z0-9_]+", name) for name in names)
