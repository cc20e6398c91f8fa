"""Settings from a Google Cloud Secret Manager secret (IMGPROXY_ENV_GCP_*): the real google-auth
signs in with a service-account key against a loopback server that speaks Google's OAuth token
exchange (it checks the key's signature) and Secret Manager's REST API."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from imgproxy_py.config import read_config

TOKEN = "ya29.test-token"
ACCOUNT = "imgproxy@shop.iam.gserviceaccount.com"


class FakeGoogle:
    """The token endpoint and Secret Manager's ``versions/*:access``, for one service account."""

    def __init__(self) -> None:
        self.private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.secrets: dict[str, str] = {}  # "projects/p/secrets/s/versions/v" -> payload
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                form = parse_qs(self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode())
                if self.path != "/token" or not fake.valid_assertion(form.get("assertion", [""])[0]):
                    self.answer(400, {"error": "invalid_grant"})
                    return
                self.answer(200, {"access_token": TOKEN, "expires_in": 3600, "token_type": "Bearer"})

            def do_GET(self) -> None:
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    self.answer(401, {"error": {"code": 401, "message": "Request had invalid credentials."}})
                    return
                name = self.path.removeprefix("/v1/").removesuffix(":access")
                if name not in fake.secrets:
                    self.answer(404, {"error": {"code": 404, "message": f"Secret [{name}] not found."}})
                    return
                data = base64.b64encode(fake.secrets[name].encode()).decode()
                self.answer(200, {"name": name, "payload": {"data": data}})

            def answer(self, status: int, body: dict[str, Any]) -> None:
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def valid_assertion(self, assertion: str) -> bool:
        """The JWT google-auth made: signed with the account's key, by the account, for Google's
        token audience (google-auth names it whatever the key's ``token_uri``)."""
        try:
            _header, claims, signature = (part + "=" * (-len(part) % 4) for part in assertion.split("."))
            self.private_key.public_key().verify(
                base64.urlsafe_b64decode(signature), assertion.rsplit(".", 1)[0].encode(),
                padding.PKCS1v15(), hashes.SHA256())
        except Exception:
            return False
        body = json.loads(base64.urlsafe_b64decode(claims))
        return bool(body["aud"] == "https://oauth2.googleapis.com/token" and body["iss"] == ACCOUNT
                    and "cloud-platform" in body["scope"])

    def key(self) -> str:
        """The service account's JSON key, as IMGPROXY_ENV_GCP_KEY holds it."""
        pem = self.private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                             serialization.NoEncryption()).decode()
        return json.dumps({"type": "service_account", "project_id": "shop", "private_key_id": "k1",
                           "private_key": pem, "client_email": ACCOUNT,
                           "client_id": "1", "token_uri": f"{self.url}/token"})

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def google() -> Iterator[FakeGoogle]:
    fake = FakeGoogle()
    fake.secrets["projects/shop/secrets/imgproxy/versions/latest"] = "IMGPROXY_QUALITY=61\nIMGPROXY_SERVER_NAME=gcp\n"
    fake.secrets["projects/shop/secrets/imgproxy/versions/2"] = "IMGPROXY_QUALITY=62\n"
    yield fake
    fake.close()


def gcp_env(google: FakeGoogle, **extra: str) -> dict[str, str]:
    return {"IMGPROXY_ENV_GCP_SECRET_ID": "imgproxy", "IMGPROXY_ENV_GCP_SECRET_PROJECT_ID": "shop",
            "IMGPROXY_ENV_GCP_KEY": google.key(), "IMGPROXY_ENV_GCP_ENDPOINT": google.url, **extra}


def test_latest_version_or_the_one_named(google: FakeGoogle) -> None:
    config, problems = read_config(gcp_env(google))
    assert problems == []
    assert (config.processing.quality, config.http.server_name) == (61, "gcp")
    config, problems = read_config(gcp_env(google, IMGPROXY_ENV_GCP_SECRET_VERSION_ID="2"))
    assert problems == [] and config.processing.quality == 62


def test_the_local_file_wins(google: FakeGoogle, tmp_path: Path) -> None:
    env_file = tmp_path / "imgproxy.env"
    env_file.write_text("IMGPROXY_QUALITY=63\n")
    config, problems = read_config(gcp_env(google, IMGPROXY_ENV_LOCAL_FILE_PATH=str(env_file)))
    assert problems == []
    assert (config.processing.quality, config.http.server_name) == (63, "gcp")


def test_unreadable_secrets_stop_start_up(google: FakeGoogle) -> None:
    _, problems = read_config(gcp_env(google, IMGPROXY_ENV_GCP_SECRET_ID="missing"))
    assert len(problems) == 1 and problems[0].startswith("IMGPROXY_ENV_GCP_SECRET_ID") and "404" in problems[0]
    # A key that is not the account's: the token exchange fails, start-up stops.
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = json.loads(google.key())
    forged["private_key"] = other.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                serialization.NoEncryption()).decode()
    _, problems = read_config(gcp_env(google, IMGPROXY_ENV_GCP_KEY=json.dumps(forged)))
    assert len(problems) == 1 and problems[0].startswith("IMGPROXY_ENV_GCP_SECRET_ID")
    _, problems = read_config(gcp_env(google, IMGPROXY_ENV_GCP_KEY="{not json"))
    assert len(problems) == 1 and problems[0].startswith("IMGPROXY_ENV_GCP_KEY")
