"""Settings from AWS Secrets Manager and the SSM Parameter Store (moto's server on loopback),
laid under the local .env file as imgproxy lays them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from imgproxy_py.config import read_config
from imgproxy_py.env_sources import ssm_variable_name
from imgproxy_py.url.builder import sign
from tests.cloud_services import moto_server
from tests.cluster_nodes import Node
from tests.ports import free_port

KEY, SALT = "ab" * 16, "cd" * 16
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


@pytest.fixture(scope="module")
def aws() -> Iterator[dict[str, str]]:
    with moto_server() as endpoint:
        yield {**CREDENTIALS, "AWS_ENDPOINT_URL": endpoint}


def client(aws: dict[str, str], service: str, region: str = "us-west-1") -> Any:
    import boto3

    return boto3.client(service, region_name=region, endpoint_url=aws["AWS_ENDPOINT_URL"],
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def test_ssm_names_map_to_variables() -> None:
    assert ssm_variable_name("/imgproxy/prod", "/imgproxy/prod/IMGPROXY_KEY") == "IMGPROXY_KEY"
    assert ssm_variable_name("/imgproxy/prod", "/imgproxy/prod/IMGPROXY_CLOUD_WATCH/NAMESPACE") == \
        "IMGPROXY_CLOUD_WATCH_NAMESPACE"
    assert ssm_variable_name("/imgproxy/prod/", "/imgproxy/prod/IMGPROXY_SALT") == "IMGPROXY_SALT"


def test_secret_versions_and_stages(aws: dict[str, str]) -> None:
    secrets = client(aws, "secretsmanager")
    first = secrets.create_secret(Name="imgproxy/versions",
                                  SecretString='IMGPROXY_QUALITY=61\nIMGPROXY_SERVER_NAME="one"\n')
    secrets.put_secret_value(SecretId="imgproxy/versions", SecretString="IMGPROXY_QUALITY=62\n")
    env = {**aws, "IMGPROXY_ENV_AWS_SECRET_ID": "imgproxy/versions"}
    config, problems = read_config(env)
    assert not problems and config.processing.quality == 62  # AWSCURRENT
    config, _ = read_config({**env, "IMGPROXY_ENV_AWS_SECRET_VERSION_STAGE": "AWSPREVIOUS"})
    assert config.processing.quality == 61 and config.http.server_name == "one"
    # The version id wins over the stage, as in imgproxy.
    config, _ = read_config({**env, "IMGPROXY_ENV_AWS_SECRET_VERSION_ID": first["VersionId"],
                             "IMGPROXY_ENV_AWS_SECRET_VERSION_STAGE": "AWSCURRENT"})
    assert config.processing.quality == 61
    assert {"IMGPROXY_ENV_AWS_SECRET_ID", "IMGPROXY_ENV_AWS_SECRET_VERSION_STAGE"} <= config.settings_read


def test_secret_region(aws: dict[str, str]) -> None:
    client(aws, "secretsmanager", "eu-central-1").create_secret(Name="imgproxy/eu", SecretString="IMGPROXY_QUALITY=63")
    env = {**aws, "IMGPROXY_ENV_AWS_SECRET_ID": "imgproxy/eu"}
    _, problems = read_config(env)  # looked for in us-west-1, imgproxy's default region
    assert len(problems) == 1 and problems[0].startswith("IMGPROXY_ENV_AWS_SECRET_ID: ")
    config, problems = read_config({**env, "IMGPROXY_ENV_AWS_SECRET_REGION": "eu-central-1"})
    assert not problems and config.processing.quality == 63


def test_parameters_under_a_path(aws: dict[str, str]) -> None:
    ssm = client(aws, "ssm")
    ssm.put_parameter(Name="/imgproxy/prod/IMGPROXY_QUALITY", Value="64", Type="String")
    ssm.put_parameter(Name="/imgproxy/prod/IMGPROXY_HEALTH_CHECK/MESSAGE", Value="nested", Type="String")
    ssm.put_parameter(Name="/imgproxy/prod/IMGPROXY_SERVER_NAME", Value="secure", Type="SecureString")
    ssm.put_parameter(Name="/imgproxy/staging/IMGPROXY_PATH_PREFIX", Value="/staging", Type="String")
    for n in range(12):  # more than one page (GetParametersByPath answers 10 at a time)
        ssm.put_parameter(Name=f"/imgproxy/prod/UNRELATED_{n}", Value=str(n), Type="String")
    config, problems = read_config({**aws, "IMGPROXY_ENV_AWS_SSM_PARAMETERS_PATH": "/imgproxy/prod"})
    assert not problems
    assert config.processing.quality == 64
    assert config.http.health_check_message == "nested"
    assert config.http.server_name == "secure"  # SecureString values are decrypted
    assert config.server.path_prefix == ""  # another path's parameters are not loaded


def test_later_sources_win(aws: dict[str, str], tmp_path: Path) -> None:
    client(aws, "secretsmanager").create_secret(
        Name="imgproxy/order",
        SecretString="IMGPROXY_QUALITY=71\nIMGPROXY_SERVER_NAME=secret\nIMGPROXY_PATH_PREFIX=/s\n")
    ssm = client(aws, "ssm")
    ssm.put_parameter(Name="/order/IMGPROXY_SERVER_NAME", Value="ssm", Type="String")
    ssm.put_parameter(Name="/order/IMGPROXY_QUALITY", Value="72", Type="String")
    env_file = tmp_path / "imgproxy.env"
    env_file.write_text("IMGPROXY_QUALITY=73\n")
    config, problems = read_config({**aws, "IMGPROXY_ENV_AWS_SECRET_ID": "imgproxy/order",
                                    "IMGPROXY_ENV_AWS_SSM_PARAMETERS_PATH": "/order",
                                    "IMGPROXY_ENV_LOCAL_FILE_PATH": str(env_file), "IMGPROXY_PATH_PREFIX": "/env"})
    assert not problems
    assert (config.processing.quality, config.http.server_name, config.server.path_prefix) == (73, "ssm", "/s")


def test_unreadable_sources_stop_start_up(aws: dict[str, str]) -> None:
    _, problems = read_config({**aws, "IMGPROXY_ENV_AWS_SECRET_ID": "imgproxy/missing",
                               "IMGPROXY_ENV_AWS_SSM_PARAMETERS_PATH": "/imgproxy/prod"})
    assert [p.split(":")[0] for p in problems] == ["IMGPROXY_ENV_AWS_SECRET_ID"]
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens: refused at once, no hang
    _, problems = read_config({**CREDENTIALS, "AWS_ENDPOINT_URL": closed, "IMGPROXY_ENV_AWS_SECRET_ID": "x",
                               "IMGPROXY_ENV_AWS_SSM_PARAMETERS_PATH": "/x"})
    assert [p.split(":")[0] for p in problems] == ["IMGPROXY_ENV_AWS_SECRET_ID", "IMGPROXY_ENV_AWS_SSM_PARAMETERS_PATH"]


def test_the_server_signs_with_the_secrets_keys(aws: dict[str, str]) -> None:
    client(aws, "secretsmanager").create_secret(
        Name="imgproxy/keys", SecretString=f"IMGPROXY_KEY={KEY}\nIMGPROXY_SALT={SALT}\n")
    node = Node({**aws, "IMGPROXY_ENV_AWS_SECRET_ID": "imgproxy/keys"})
    try:
        node.wait_ready()
        path = "/rs:fit:64:64/plain/local:///core/exif_gps.jpg"
        good = httpx.get(node.base + sign(path, KEY, SALT), timeout=30)
        assert good.status_code == 200 and good.headers["content-type"] == "image/jpeg"
        assert httpx.get(f"{node.base}/unsafe{path}", timeout=30).status_code == 403
    finally:
        node.stop()
