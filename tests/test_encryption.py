"""Source URL encryption: the documented vectors, round trips and every way a token can be bad."""

from __future__ import annotations

import base64
import doctest

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from imgproxy_py.errors import InvalidURLError
from imgproxy_py.security import encryption
from imgproxy_py.security.encryption import (
    decrypt_source_url,
    derive_iv,
    encrypt_source_url,
    parse_encryption_key,
)

DOCS_KEY = bytes.fromhex("1eb5b0e971ad7f45324c1bb15c947cb207c43152fa5c6c7f35c4f36e0c18e0f1")
DOCS_TOKEN = "p5VjorNdhs7mRRw8gA9TWoRlGci3l1kuzqN43UQlRaRIQ0qtBKW3qFABIsx-ZRz_cVc8iVTYbhsNsxNBL1BHaQ"
DOCS_URL = "http://example.com/images/curiosity.jpg"

# (source URL, IV, token) encrypted with DOCS_KEY by imgproxy's documentation and clients.
VECTORS = [
    # imgproxy docs, "Encrypting a source URL" > "Example"
    (DOCS_URL, bytes.fromhex("A79563A2B35D86CEE6451C3C800F535A"), DOCS_TOKEN),
    # imgproxy-node, getEncryptedUrl.test.ts
    ("https://example.com/image.jpg", bytes.fromhex("e664535f505d3b6ae939fe1169b22e2d"),
     "5mRTX1BdO2rpOf4RabIuLRo5XHgNeEqAfturvYUVzVXfh75f8b5ulIvbh2JawTzP"),
    # imgproxy.rb, url_for_spec.rb "encrypts source URL" (there split in 16-char chunks)
    ("https://images.test/image.jpg", b"1234567890123456",
     "MTIzNDU2Nzg5MDEyMzQ1Np6L0YlR92XDi3aaVA5KINDMHKXfLUaQ1N0ae5N7JjBZ"),
]


@pytest.mark.parametrize(("url", "iv", "token"), VECTORS)
def test_known_vectors_encrypt(url: str, iv: bytes, token: str) -> None:
    assert encrypt_source_url(url, DOCS_KEY, iv) == token


@pytest.mark.parametrize(("url", "iv", "token"), VECTORS)
def test_known_vectors_decrypt(url: str, iv: bytes, token: str) -> None:
    assert decrypt_source_url(token, DOCS_KEY) == url


def test_docs_example_decrypts_with_hex_key() -> None:
    assert decrypt_source_url(DOCS_TOKEN, DOCS_KEY.hex()) == DOCS_URL


def test_decrypt_accepts_chunks_and_padding() -> None:
    chunked = "MTIzNDU2Nzg5MDEy/MzQ1Np6L0YlR92XD/i3aaVA5KINDMHKXf/LUaQ1N0ae5N7JjBZ"
    assert decrypt_source_url(chunked, DOCS_KEY) == "https://images.test/image.jpg"
    assert decrypt_source_url(DOCS_TOKEN + "==", DOCS_KEY) == DOCS_URL


URLS = [
    "http://example.com/images/curiosity.jpg",
    "s3://bucket/path/to/image.png",
    "https://example.com/ünïcødé/画像.jpg?x=1&y=2#frag",
    "https://example.com/exactly-16-by",  # 32 bytes: a whole padding block is added
    "",
    "https://example.com/" + "a" * 500,
]


@pytest.mark.parametrize("key_size", [16, 24, 32])
@pytest.mark.parametrize("url", URLS)
def test_round_trip(url: str, key_size: int) -> None:
    key = bytes(range(key_size))
    token = encrypt_source_url(url, key)
    assert "=" not in token and "+" not in token and "/" not in token
    assert decrypt_source_url(token, key) == url
    random_iv_token = encrypt_source_url(url, key, bytes(range(100, 116)))
    assert decrypt_source_url(random_iv_token, key) == url


def test_deterministic_iv_is_stable_per_url_and_differs_between_urls() -> None:
    first = encrypt_source_url(DOCS_URL, DOCS_KEY)
    assert first == encrypt_source_url(DOCS_URL, DOCS_KEY)
    other = encrypt_source_url(DOCS_URL + "?v=2", DOCS_KEY)
    assert first[:22] != other[:22]  # the IV part differs
    iv = derive_iv(DOCS_URL, DOCS_KEY)
    assert len(iv) == 16
    assert encrypt_source_url(DOCS_URL, DOCS_KEY, iv) == first
    # The IV depends on the key too: another key gives another IV for the same URL.
    assert derive_iv(DOCS_URL, bytes(32)) != iv


WRONG_KEYS = [bytes(32), bytes(range(32)), DOCS_KEY[::-1], bytes(16), bytes(24)]


@pytest.mark.parametrize("wrong_key", WRONG_KEYS)
def test_wrong_key_fails(wrong_key: bytes) -> None:
    with pytest.raises(InvalidURLError) as info:
        decrypt_source_url(DOCS_TOKEN, wrong_key)
    assert str(info.value) == "Invalid encrypted source URL"


def _raw_token(key: bytes, iv: bytes, padded: bytes) -> str:
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    data = iv + encryptor.update(padded) + encryptor.finalize()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


IV = bytes(16)
BAD_TOKENS = {
    "empty": "",
    "not base64": "p5Vjor!!hs7mRRw8gA9TWoRlGci3l1kuzqN43UQlRaRIQ0qtBKW3qFABIsx",
    "standard alphabet": DOCS_TOKEN.replace("-", "+").replace("_", "/").replace("/", "+"),
    "impossible base64 length": DOCS_TOKEN[:-1],
    "one byte too many": DOCS_TOKEN + "A",
    "iv only": base64.urlsafe_b64encode(IV).rstrip(b"=").decode(),
    "truncated block": DOCS_TOKEN[:-3],
    "not a block multiple": base64.urlsafe_b64encode(bytes(40)).rstrip(b"=").decode(),
    "bad padding": _raw_token(DOCS_KEY, IV, b"http://example.com/x.jpg" + bytes(8)),
    "zero padding byte": _raw_token(DOCS_KEY, IV, b"a" * 15 + b"\x00"),
    "not utf-8": _raw_token(DOCS_KEY, IV, b"http://\xff\xfe/x" + bytes([5]) * 5),
    "whitespace": " " + DOCS_TOKEN,
}


@pytest.mark.parametrize("token", list(BAD_TOKENS.values()), ids=list(BAD_TOKENS))
def test_bad_tokens_fail_alike(token: str) -> None:
    with pytest.raises(InvalidURLError) as info:
        decrypt_source_url(token, DOCS_KEY)
    assert str(info.value) == "Invalid encrypted source URL"
    assert info.value.status == 404
    # Nothing chained: the reason never travels with the error.
    assert info.value.__cause__ is None
    assert info.value.__context__ is None or info.value.__suppress_context__


@pytest.mark.parametrize("key", [b"", bytes(15), bytes(17), bytes(33), "zz" * 16, "abc"])
def test_bad_keys_are_value_errors(key: bytes | str) -> None:
    with pytest.raises(ValueError):
        parse_encryption_key(key)
    with pytest.raises(ValueError):
        encrypt_source_url(DOCS_URL, key)
    with pytest.raises(ValueError):
        decrypt_source_url(DOCS_TOKEN, key)


@pytest.mark.parametrize("iv", [b"", bytes(15), bytes(17)])
def test_bad_iv(iv: bytes) -> None:
    with pytest.raises(ValueError, match="IV must be 16 bytes"):
        encrypt_source_url(DOCS_URL, DOCS_KEY, iv)


def test_key_parsing() -> None:
    assert parse_encryption_key(DOCS_KEY.hex().upper()) == DOCS_KEY
    assert parse_encryption_key(bytes(16)) == bytes(16)


def test_docstring_examples() -> None:
    assert doctest.testmod(encryption).failed == 0
