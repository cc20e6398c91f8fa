"""Settings loaded from outside the process environment at start-up, as imgproxy loads them.

imgproxy reads, in this order, each laid over what came before (so a later source wins):
an AWS Secrets Manager secret holding a ``.env`` file (``IMGPROXY_ENV_AWS_SECRET_*``), the
parameters under an AWS Systems Manager Parameter Store path (``IMGPROXY_ENV_AWS_SSM_*``), a
Google Cloud Secret Manager secret holding a ``.env`` file (``IMGPROXY_ENV_GCP_*``), and a local
``.env`` file (``IMGPROXY_ENV_LOCAL_FILE_PATH``).  Sites keep their signing key and salt
in these, so a loader that is configured but fails stops start-up: serving with the wrong keys
would answer every signed URL with a 403.

The AWS loaders use botocore (the ``cloud`` extra) with the standard AWS credential chain
(``AWS_ACCESS_KEY_ID``..., shared files, IAM roles) and endpoint settings (``AWS_ENDPOINT_URL``).
The Google loader reads the secret through Secret Manager's REST API with google-auth's
credentials (the ``cloud`` extra): the service-account key in ``IMGPROXY_ENV_GCP_KEY``, else
Application Default Credentials (``GOOGLE_APPLICATION_CREDENTIALS``, the metadata server).
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping
from typing import Any

from imgproxy_py.sources.s3 import DEFAULT_REGION

ENV_FILE_SETTING = "IMGPROXY_ENV_LOCAL_FILE_PATH"
AWS_SECRET_ID = "IMGPROXY_ENV_AWS_SECRET_ID"
AWS_SECRET_VERSION_ID = "IMGPROXY_ENV_AWS_SECRET_VERSION_ID"
AWS_SECRET_VERSION_STAGE = "IMGPROXY_ENV_AWS_SECRET_VERSION_STAGE"
AWS_SECRET_REGION = "IMGPROXY_ENV_AWS_SECRET_REGION"
AWS_SSM_PATH = "IMGPROXY_ENV_AWS_SSM_PARAMETERS_PATH"
AWS_SSM_REGION = "IMGPROXY_ENV_AWS_SSM_PARAMETERS_REGION"
GCP_SECRET_ID = "IMGPROXY_ENV_GCP_SECRET_ID"
GCP_SECRET_VERSION_ID = "IMGPROXY_ENV_GCP_SECRET_VERSION_ID"
GCP_SECRET_PROJECT_ID = "IMGPROXY_ENV_GCP_SECRET_PROJECT_ID"
GCP_KEY = "IMGPROXY_ENV_GCP_KEY"
# Ours: Secret Manager's address, for a private endpoint (Private Service Connect) or a test server.
GCP_ENDPOINT = "IMGPROXY_ENV_GCP_ENDPOINT"
GCP_DEFAULT_ENDPOINT = "https://secretmanager.googleapis.com"
ENV_SOURCE_SETTINGS = (ENV_FILE_SETTING, AWS_SECRET_ID, AWS_SECRET_VERSION_ID, AWS_SECRET_VERSION_STAGE,
                       AWS_SECRET_REGION, AWS_SSM_PATH, AWS_SSM_REGION, GCP_SECRET_ID, GCP_SECRET_VERSION_ID,
                       GCP_SECRET_PROJECT_ID, GCP_KEY, GCP_ENDPOINT)

# Each remote loader's call gets 30 s (botocore's retries happen inside it); imgproxy gives the
# AWS loaders 30 s too.
LOADER_TIMEOUT_SECONDS = 30


def load_env_sources(env: Mapping[str, str], *, remote: bool = True) -> tuple[dict[str, str], list[str]]:
    """``env`` with every configured source's variables laid over it, and the problems met;
    ``remote=False``: the local file only (the ``health`` command, run every few seconds)."""
    problems: list[str] = []
    merged = _without_nul(env, problems)
    for loader in (_aws_secret, _aws_parameters, _gcp_secret, _local_file) if remote else (_local_file,):
        try:
            merged.update(_without_nul(loader(merged), problems))
        except EnvSourceError as exc:
            problems.append(str(exc))
    return merged, problems


def _without_nul(values: Mapping[str, str], problems: list[str]) -> dict[str, str]:
    """``values`` less the settings holding a NUL byte, each a problem: no path, pattern or URL
    holds one, and a secret or a .env file can (the process's environment cannot)."""
    refused = {name for name, value in values.items() if name.startswith("IMGPROXY_") and "\x00" in value}
    problems.extend(f"{name}: holds a NUL byte" for name in sorted(refused))
    return {name: value for name, value in values.items() if name not in refused}


class EnvSourceError(Exception):
    """A configured source could not be read; the message names the setting."""


def parse_env_text(text: str) -> dict[str, str]:
    """A ``.env`` file's variables (python-dotenv: quotes, escapes and ``${VAR}`` as imgproxy's
    loader reads them)."""
    from dotenv import dotenv_values

    values = dotenv_values(stream=io.StringIO(text), interpolate=True)
    return {name: value for name, value in values.items() if value is not None}


def _local_file(env: Mapping[str, str]) -> dict[str, str]:
    path = env.get(ENV_FILE_SETTING, "")
    if not path:
        return {}
    try:
        with open(path, encoding="utf-8") as stream:
            return parse_env_text(stream.read())
    except (OSError, UnicodeDecodeError, ValueError) as exc:  # ValueError: a NUL in the path
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise EnvSourceError(f"{ENV_FILE_SETTING}: can't read {path!r}: {reason}") from None


def _aws_secret(env: Mapping[str, str]) -> dict[str, str]:
    secret_id = env.get(AWS_SECRET_ID, "")
    if not secret_id:
        return {}
    request: dict[str, str] = {"SecretId": secret_id}
    if version_id := env.get(AWS_SECRET_VERSION_ID, ""):
        request["VersionId"] = version_id  # imgproxy: the version id wins over the stage
    elif stage := env.get(AWS_SECRET_VERSION_STAGE, ""):
        request["VersionStage"] = stage
    client = _aws_client("secretsmanager", env, env.get(AWS_SECRET_REGION, ""), AWS_SECRET_ID)
    answer = _aws_call(AWS_SECRET_ID, f"can't read the secret {secret_id!r}", client.get_secret_value, request)
    text = answer.get("SecretString")
    return parse_env_text(text) if isinstance(text, str) else {}  # a binary secret holds no .env file


def _aws_parameters(env: Mapping[str, str]) -> dict[str, str]:
    path = env.get(AWS_SSM_PATH, "")
    if not path:
        return {}
    client = _aws_client("ssm", env, env.get(AWS_SSM_REGION, ""), AWS_SSM_PATH)
    found: dict[str, str] = {}
    request: dict[str, Any] = {"Path": path, "WithDecryption": True, "Recursive": True}
    while True:
        answer = _aws_call(AWS_SSM_PATH, f"can't read the parameters under {path!r}",
                           client.get_parameters_by_path, request)
        for parameter in answer.get("Parameters", []):
            name, value = parameter.get("Name"), parameter.get("Value")
            if not isinstance(name, str) or not isinstance(value, str) or parameter.get("DataType", "text") != "text":
                continue
            found[ssm_variable_name(path, name)] = value
        if not answer.get("NextToken"):
            return found
        request["NextToken"] = answer["NextToken"]


def _gcp_secret(env: Mapping[str, str]) -> dict[str, str]:
    secret_id = env.get(GCP_SECRET_ID, "")
    if not secret_id:
        return {}
    name = (f"projects/{env.get(GCP_SECRET_PROJECT_ID, '')}/secrets/{secret_id}"
            f"/versions/{env.get(GCP_SECRET_VERSION_ID, '') or 'latest'}")
    endpoint = (env.get(GCP_ENDPOINT, "") or GCP_DEFAULT_ENDPOINT).rstrip("/")
    what = f"{GCP_SECRET_ID}: can't read the secret {name!r}"
    session = _gcp_session(env)
    try:
        answer = session.get(f"{endpoint}/v1/{name}:access", timeout=LOADER_TIMEOUT_SECONDS)
    except Exception as exc:  # google-auth's and requests' own errors: a token or a connection refused
        raise EnvSourceError(f"{what}: {exc}") from None
    finally:
        session.close()
    try:
        body = answer.json()
    except ValueError:
        body = {}
    if answer.status_code != 200:
        message = body.get("error", {}).get("message", "") if isinstance(body, dict) else ""
        raise EnvSourceError(f"{what}: HTTP {answer.status_code} {message}".rstrip())
    try:
        text = base64.b64decode(body["payload"]["data"]).decode("utf-8")
    except (KeyError, TypeError, ValueError):
        raise EnvSourceError(f"{what}: the answer holds no payload") from None
    return parse_env_text(text)


def _gcp_session(env: Mapping[str, str]) -> Any:
    """An HTTP session that signs its requests with the key in IMGPROXY_ENV_GCP_KEY, else with
    Application Default Credentials."""
    try:
        import google.auth.exceptions
        from google.auth.transport.requests import AuthorizedSession
    except ImportError:
        raise EnvSourceError(f"{GCP_SECRET_ID}: needs the cloud extra (pip install 'imgproxy-py[cloud]')") from None
    from imgproxy_py.sources.gcs import google_credentials

    key = env.get(GCP_KEY, "")
    try:
        credentials = google_credentials(key, "https://www.googleapis.com/auth/cloud-platform")
    except (ValueError, KeyError, google.auth.exceptions.GoogleAuthError) as exc:
        setting = GCP_KEY if key else GCP_SECRET_ID
        raise EnvSourceError(f"{setting}: no usable Google Cloud credentials: {exc}") from None
    return AuthorizedSession(credentials)  # type: ignore[no-untyped-call]


def ssm_variable_name(path: str, name: str) -> str:
    """``/imgproxy/prod/IMGPROXY_CLOUD_WATCH/NAMESPACE`` under ``/imgproxy/prod``:
    ``IMGPROXY_CLOUD_WATCH_NAMESPACE`` (imgproxy's mapping)."""
    return name.removeprefix(path).lstrip("/").replace("/", "_")


def _aws_client(service: str, env: Mapping[str, str], region: str, setting: str) -> Any:
    try:
        import botocore.session
        from botocore.config import Config as BotocoreConfig
        from botocore.exceptions import BotoCoreError
    except ImportError:
        raise EnvSourceError(f"{setting}: needs the cloud extra (pip install 'imgproxy-py[cloud]')") from None
    session = botocore.session.Session()
    if env.get("AWS_ACCESS_KEY_ID") and env.get("AWS_SECRET_ACCESS_KEY"):
        session.set_credentials(env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"],
                                env.get("AWS_SESSION_TOKEN") or None)
    region = (region or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or session.get_config_variable("region")
              or DEFAULT_REGION)
    service_variable = "AWS_ENDPOINT_URL_" + ("SECRETS_MANAGER" if service == "secretsmanager" else "SSM")
    endpoint = env.get(service_variable) or env.get("AWS_ENDPOINT_URL") or None
    config = BotocoreConfig(connect_timeout=10, read_timeout=LOADER_TIMEOUT_SECONDS, retries={"max_attempts": 3})
    try:
        return session.create_client(service, region_name=region, endpoint_url=endpoint, config=config)
    except (BotoCoreError, ValueError) as exc:  # a region or endpoint botocore refuses
        raise EnvSourceError(f"{setting}: {exc}") from None


def _aws_call(setting: str, what: str, method: Any, request: dict[str, Any]) -> dict[str, Any]:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        answer: dict[str, Any] = method(**request)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise EnvSourceError(f"{setting}: {what}: {error.get('Code', 'error')}: {error.get('Message', '')}") from None
    except BotoCoreError as exc:
        raise EnvSourceError(f"{setting}: {what}: {exc}") from None
    return answer
