"""The ``sign`` and ``url`` subcommands, driven through a parser built here."""

from __future__ import annotations

import argparse

import pytest

from imgproxy_py.security.encryption import decrypt_source_url
from imgproxy_py.url import cli as cli_urls

DOCS_KEY, DOCS_SALT = "736563726574", "68656C6C6F"
DOCS_PATH = "/rs:fill:300:400:0/g:sm/aHR0cDovL2V4YW1w/bGUuY29tL2ltYWdl/cy9jdXJpb3NpdHku/anBn.png"
DOCS_SIGNATURE = "oKfUtW34Dvo2BGQehJFR4Nr0_rIjOtdtzJ3QFsUcXH8"
ENC_KEY = "1eb5b0e971ad7f45324c1bb15c947cb207c43152fa5c6c7f35c4f36e0c18e0f1"
DOCS_ENV = {"IMGPROXY_KEY": DOCS_KEY, "IMGPROXY_SALT": DOCS_SALT}
SIGNED = f"/{DOCS_SIGNATURE}{DOCS_PATH}"
ENV_NAMES = ("IMGPROXY_KEY", "IMGPROXY_SALT", "IMGPROXY_SIGNATURE_SIZE", "IMGPROXY_SOURCE_URL_ENCRYPTION_KEY")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser(prog="imgproxy-py")
    cli_urls.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    code = args.func(args)
    out, err = capsys.readouterr()
    return code, out.rstrip("\n"), err


SIGN_CASES = [
    # imgproxy docs, "Signing a URL" > "Example"
    (["sign", "--key", DOCS_KEY, "--salt", DOCS_SALT, DOCS_PATH], {}, SIGNED),
    (["sign", DOCS_PATH], DOCS_ENV, SIGNED),
    # comma lists in the environment: the first pair signs
    (["sign", DOCS_PATH], {"IMGPROXY_KEY": f"{DOCS_KEY},abcd", "IMGPROXY_SALT": f"{DOCS_SALT},ef"}, SIGNED),
    # flags win over the environment
    (["sign", "--key", DOCS_KEY, "--salt", DOCS_SALT, DOCS_PATH],
     {"IMGPROXY_KEY": "aa", "IMGPROXY_SALT": "bb"}, SIGNED),
    (["sign", DOCS_PATH.lstrip("/")], DOCS_ENV, SIGNED),
    # imgproxy.rb url_for_spec.rb "with truncated signature"
    (["sign", "--size", "5", "/s:100:100/plain/https://images.test/image.jpg", "--key", b"Hello".hex(),
      "--salt", b"World".hex()], {}, "/6PuaY-c/s:100:100/plain/https://images.test/image.jpg"),
    (["sign", "/s:100:100/plain/https://images.test/image.jpg"],
     {"IMGPROXY_KEY": b"Hello".hex(), "IMGPROXY_SALT": b"World".hex(), "IMGPROXY_SIGNATURE_SIZE": "5"},
     "/6PuaY-c/s:100:100/plain/https://images.test/image.jpg"),
    (["sign", "--base", "http://imgproxy.example.com/", DOCS_PATH], DOCS_ENV,
     f"http://imgproxy.example.com{SIGNED}"),
]


@pytest.mark.parametrize(("argv", "env", "expected"), SIGN_CASES)
def test_sign(argv: list[str], env: dict[str, str], expected: str, monkeypatch: pytest.MonkeyPatch,
              capsys: pytest.CaptureFixture[str]) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert run(argv, capsys) == (0, expected, "")


@pytest.mark.parametrize(("argv", "env", "message"), [
    (["sign", DOCS_PATH], {}, "a key and a salt are needed"),
    (["sign", "--key", DOCS_KEY, DOCS_PATH], {}, "a key and a salt are needed"),
    (["sign", DOCS_PATH], {"IMGPROXY_KEY": DOCS_KEY, "IMGPROXY_SALT": " "}, "a key and a salt are needed"),
    (["sign", "--key", "xyz", "--salt", DOCS_SALT, DOCS_PATH], {}, "key must be hex-encoded"),
    (["sign", "--size", "40", "--key", DOCS_KEY, "--salt", DOCS_SALT, DOCS_PATH], {}, "signature size"),
    (["sign", DOCS_PATH], {**DOCS_ENV, "IMGPROXY_SIGNATURE_SIZE": "x"}, "IMGPROXY_SIGNATURE_SIZE"),
])
def test_sign_errors(argv: list[str], env: dict[str, str], message: str, monkeypatch: pytest.MonkeyPatch,
                     capsys: pytest.CaptureFixture[str]) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    code, out, err = run(argv, capsys)
    assert (code, out) == (2, "")
    assert err.startswith("imgproxy-py sign: error: ") and message in err


URL_CASES = [
    (["url", "http://example.com/images/curiosity.jpg", "--resize", "fill:300:400:0", "--gravity", "sm",
      "--base64", "--chunk", "16", "--format", "png", "--key", DOCS_KEY, "--salt", DOCS_SALT,
      "--base", "http://imgproxy.example.com"], {},
     f"http://imgproxy.example.com/{DOCS_SIGNATURE}{DOCS_PATH}"),
    (["url", "http://example.com/images/curiosity.jpg", "--resize", "fill:300:400:0", "--gravity", "sm",
      "--base64", "--chunk", "16", "--format", "png"], DOCS_ENV, SIGNED),
    # options keep their command-line order, whichever flag gave them
    (["url", "http://x/y.jpg", "-o", "q:80", "--width", "300", "-o", "sa:1.5", "--gravity", "nowe::10"], {},
     "/insecure/q:80/w:300/sa:1.5/g:nowe::10/plain/http://x/y.jpg"),
    (["url", "http://x/y.jpg", "--preset", "a:b", "--cachebuster", "v2", "--expires", "4102444800",
      "--background", "255:0:0", "-o", "bg", "--format", "webp"], {},
     "/insecure/pr:a:b/cb:v2/exp:4102444800/bg:255:0:0/bg:/plain/http://x/y.jpg@webp"),
    (["url", "http://x/y.jpg", "--resize", "fit:500:500", "--then", "--trim", "10", "--base", "https://i.test/"],
     {}, "https://i.test/insecure/rs:fit:500:500/-/t:10/plain/http://x/y.jpg"),
    (["url", "http://x/a b.jpg?v=1"], {}, "/insecure/plain/http%3A%2F%2Fx%2Fa%20b.jpg%3Fv%3D1"),
    (["url", "http://x/y.jpg", "--escape"], {}, "/insecure/plain/http%3A%2F%2Fx%2Fy.jpg"),
    (["url", "http://x/y.jpg", "--unsigned-signature", "unsafe", "--base64"], {},
     "/unsafe/aHR0cDovL3gveS5qcGc"),
    (["url", "http://x/y.jpg", "--base64", "--filename-in-base64", "y.jpg"], {},
     "/insecure/aHR0cDovL3gveS5qcGc/y.jpg"),
    (["url", "http://x/y.jpg", "--info", "-o", "do:1", "-o", "d:0"], {}, "/info/insecure/do:1/d:0/plain/http://x/y.jpg"),
    # imgproxy.rb url_for_spec.rb "encrypts source URL"
    (["url", "https://images.test/image.jpg", "--encrypt", "--encryption-key", ENC_KEY,
      "--iv", b"1234567890123456".hex(), "--chunk", "16", "--format", "webp",
      "--unsigned-signature", "unsafe"],
     {}, "/unsafe/enc/MTIzNDU2Nzg5MDEy/MzQ1Np6L0YlR92XD/i3aaVA5KINDMHKXf/LUaQ1N0ae5N7JjBZ.webp"),
    (["url", "https://images.test/image.jpg", "--encrypt", "--iv", b"1234567890123456".hex()],
     {"IMGPROXY_SOURCE_URL_ENCRYPTION_KEY": ENC_KEY},
     "/insecure/enc/MTIzNDU2Nzg5MDEyMzQ1Np6L0YlR92XDi3aaVA5KINDMHKXfLUaQ1N0ae5N7JjBZ"),
]


@pytest.mark.parametrize(("argv", "env", "expected"), URL_CASES)
def test_url(argv: list[str], env: dict[str, str], expected: str, monkeypatch: pytest.MonkeyPatch,
             capsys: pytest.CaptureFixture[str]) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert run(argv, capsys) == (0, expected, "")


def test_url_encrypt_default_iv_round_trips(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["url", "http://x/y.jpg", "--encrypt", "--encryption-key", ENC_KEY, "--format", "png"],
                       capsys)
    assert code == 0 and out.startswith("/insecure/enc/") and out.endswith(".png")
    assert decrypt_source_url(out.removeprefix("/insecure/enc/").removesuffix(".png"), ENC_KEY) == "http://x/y.jpg"
    assert run(["url", "http://x/y.jpg", "--encrypt", "--encryption-key", ENC_KEY, "--format", "png"],
               capsys)[1] == out


@pytest.mark.parametrize(("argv", "env", "message"), [
    (["url", "http://x/y.jpg", "--key", DOCS_KEY], {}, "both a key and a salt"),
    (["url", "http://x/y.jpg"], {"IMGPROXY_SALT": DOCS_SALT}, "both a key and a salt"),
    (["url", "http://x/y.jpg", "--encrypt"], {}, "--encrypt needs"),
    (["url", "http://x/y.jpg", "--encrypt", "--encryption-key", "abcd"], {}, "16, 24 or 32 bytes"),
    (["url", "http://x/y.jpg", "--encrypt", "--encryption-key", ENC_KEY, "--iv", "00"], {}, "IV must be"),
    (["url", "http://x/y.jpg", "--iv", "zz"], {}, "non-hexadecimal"),
    (["url", "http://x/y.jpg", "--cachebuster", "a b"], {}, "cannot appear in an option argument"),
    (["url", "http://x/y.jpg", "-o", "a/b:1"], {}, "invalid option name"),
    (["url", "http://x/y.jpg", "--then"], {}, "then() needs"),
    (["url", "http://x/y.jpg", "--info", "--format", "png"], {}, "--info"),
    (["url", "http://x/y.jpg", "--info", "-o", "do:1", "--then"], {}, "--info"),
    (["url", "http://x/y.jpg", "--format", "p.ng"], {}, "invalid extension"),
    (["url", "http://x/y.jpg", "--filename-in-base64", "y.jpg"], {}, "base64 or encrypted"),
    (["url", "http://x/y.jpg", "--base64", "--chunk", "0"], {}, "chunk size"),
])
def test_url_errors(argv: list[str], env: dict[str, str], message: str, monkeypatch: pytest.MonkeyPatch,
                    capsys: pytest.CaptureFixture[str]) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    code, out, err = run(argv, capsys)
    assert (code, out) == (2, "")
    assert err.startswith("imgproxy-py url: error: ") and message in err


def test_base64_and_encrypt_are_exclusive(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        run(["url", "http://x/y.jpg", "--base64", "--encrypt"], capsys)
    assert info.value.code == 2
