"""Hostile ``IMGPROXY_*`` values: start-up lists them as problems (one line each, naming the
setting) and never fails with an exception of its own."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imgproxy_py.config import read_config
from imgproxy_py.env_sources import load_env_sources
from imgproxy_py.errors import ConfigError
from imgproxy_py.server.composition import build_services

SETTING_NAMES = sorted(n for n in read_config({})[0].settings_read if n.startswith("IMGPROXY_"))
HOSTILE = ["", " ", "0", "-1", "1", "99999999999999999999", "1e309", "nan", "inf", "-inf", "1_000", "0x10",
           "true", "1.5", "abc", "a,b,,c", ",", "a:b:c", "%zz", "\x00", "\u0663", "http://", "/nonexistent", "(?P<",
           "*", "a=b", "5s", "+5", "-0.5"]


@pytest.mark.parametrize(("value", "number_ok", "integer_ok"), [
    ("nan", False, False), ("inf", False, False), ("-Infinity", False, False), ("1e999", False, False),
    ("1_000", False, False), ("\u0663", False, False), ("0x10", False, False),
    ("+3", True, True), ("3", True, True), ("3.5", True, False), ("1e3", True, False),
])
def test_numbers_are_what_go_parses(value: str, number_ok: bool, integer_ok: bool) -> None:
    """A float setting takes finite numbers only: ``nan`` or ``inf`` would bound nothing (and
    used to stop start-up with an exception); an integer one takes ASCII digits as Go's Atoi."""
    config, problems = read_config({"IMGPROXY_MAX_SRC_RESOLUTION": value})
    assert (not problems) == number_ok, problems
    if not number_ok:
        assert problems == [f"IMGPROXY_MAX_SRC_RESOLUTION: {value!r} is not a number"]
        assert config.security.max_src_resolution == 50_000_000  # the default stands in
    _, problems = read_config({"IMGPROXY_QUALITY": value})
    assert (not problems) == (integer_ok and 1 <= int(value) <= 100), problems


def test_a_nul_byte_is_a_problem_of_its_setting() -> None:
    """The process's environment can't hold a NUL, but a .env file or a secret can."""
    merged, problems = load_env_sources({"IMGPROXY_LOCAL_FILESYSTEM_ROOT": "/tmp\x00x", "IMGPROXY_QUALITY": "70"})
    assert problems == ["IMGPROXY_LOCAL_FILESYSTEM_ROOT: holds a NUL byte"]
    assert merged == {"IMGPROXY_QUALITY": "70"}
    _, problems = read_config({"IMGPROXY_CLASSIFICATION_CLASSES": "a\x00b", "IMGPROXY_ENV_LOCAL_FILE_PATH": "x\x00"})
    assert sorted(problems) == ["IMGPROXY_CLASSIFICATION_CLASSES: holds a NUL byte",
                                "IMGPROXY_ENV_LOCAL_FILE_PATH: holds a NUL byte"]


@pytest.mark.parametrize("name", ["IMGPROXY_MODELS_DIR", "IMGPROXY_CLASSIFICATION_NET",
                                  "IMGPROXY_FACE_DETECTION_MODEL"])
def test_a_home_that_does_not_exist_is_a_problem(name: str) -> None:
    """``~`` is expanded in file settings; ``~user`` of no such user stopped start-up with a
    RuntimeError (found by the hypothesis test below)."""
    _, problems = read_config({name: "~no-such-user-here/model.onnx"})
    # Listed once, though IMGPROXY_MODELS_DIR is read by both autoquality and detection.
    assert problems.count(f"{name}: '~no-such-user-here/model.onnx': no home directory to expand '~' to") == 1


def test_a_region_botocore_refuses_is_a_problem() -> None:
    pytest.importorskip("botocore")
    _, problems = read_config({"IMGPROXY_ENV_AWS_SECRET_ID": "imgproxy/prod", "IMGPROXY_ENV_AWS_SECRET_REGION": "a b"})
    assert len(problems) == 1 and problems[0].startswith("IMGPROXY_ENV_AWS_SECRET_ID: ")


def test_a_sentry_dsn_sentry_refuses_stops_start_up_naming_it() -> None:
    pytest.importorskip("sentry_sdk")
    config, problems = read_config({"IMGPROXY_SENTRY_DSN": "not a dsn"})
    assert not problems  # only Sentry's SDK judges a DSN
    with pytest.raises(ConfigError) as caught:
        build_services(config)
    assert len(caught.value.problems) == 1 and caught.value.problems[0].startswith("IMGPROXY_SENTRY_DSN: ")


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(SETTING_NAMES), st.sampled_from(HOSTILE) | st.text(max_size=12),
                       min_size=1, max_size=6))
def test_any_values_give_problems_not_exceptions(env: dict[str, str]) -> None:
    env.pop("IMGPROXY_ENV_AWS_SECRET_ID", None)  # no remote loader: each would wait on the network
    env.pop("IMGPROXY_ENV_AWS_SSM_PARAMETERS_PATH", None)
    env.pop("IMGPROXY_ENV_GCP_SECRET_ID", None)
    _, problems = read_config(env)
    # Each a line naming its setting: an IMGPROXY_* one, or the OTEL_* one that the OpenTelemetry
    # settings are read into.
    assert all(p.startswith(("IMGPROXY_", "OTEL_")) for p in problems), problems
