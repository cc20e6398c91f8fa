"""Client-side encrypted s3:// objects (IMGPROXY_S3_USE_DECRYPTION_CLIENT): written by AWS's S3
Encryption Client with KMS keys on moto's standalone server (S3 and KMS), read by the server."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.cloud_services import environment, moto_server
from tests.conftest import asset, decode
from tests.servers import AppServer, Origin

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "eu-west-1"}
FIT = "/unsafe/rs:fit:64:64/plain/{}@png"


def encrypting_client(endpoint: str, key_id: str, committing: bool) -> Any:
    import boto3
    from s3_encryption import S3EncryptionClient, S3EncryptionClientConfig
    from s3_encryption.materials.kms_keyring import KmsKeyring
    from s3_encryption.materials.materials import AlgorithmSuite, CommitmentPolicy

    kms = boto3.client("kms", endpoint_url=endpoint, region_name="eu-west-1")
    # Each encryption client watches its own S3 client's calls.
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="eu-west-1")
    config = (S3EncryptionClientConfig(keyring=KmsKeyring(kms, key_id)) if committing else  # v3 format
              S3EncryptionClientConfig(keyring=KmsKeyring(kms, key_id),  # v2 format, as older clients write
                                       encryption_algorithm=AlgorithmSuite.ALG_AES_256_GCM_IV12_TAG16_NO_KDF,
                                       commitment_policy=CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT))
    return S3EncryptionClient(s3, config)


OBJECT_ONLY_V3 = ("x-amz-c", "x-amz-d", "x-amz-i")


def move_envelope(s3: Any, source: str, name: str, into_file: tuple[str, ...] = ()) -> None:
    """``source``'s ciphertext stored again as ``name``, its envelope moved into the instruction
    file ``name.instruction`` as the S3 Encryption Client specification lays it out: for v3 the
    object keeps its content keys (x-amz-c, x-amz-d, x-amz-i), for v1/v2 it keeps none."""
    stored = s3.get_object(Bucket="vault", Key=source)
    metadata = stored["Metadata"]
    kept = {k: v for k, v in metadata.items() if k in OBJECT_ONLY_V3}
    envelope = {k: v for k, v in metadata.items() if k not in kept or k in into_file}
    s3.put_object(Bucket="vault", Key=name, Body=stored["Body"].read(), Metadata=kept)
    s3.put_object(Bucket="vault", Key=name + ".instruction", Body=json.dumps(envelope).encode(),
                  Metadata={"x-amz-crypto-instr-file": ""})


@pytest.fixture(scope="module")
def store() -> Iterator[tuple[str, Any, str]]:
    """Bucket ``vault``: ``v3.jpg`` and ``v2.jpg`` encrypted under two different KMS keys,
    ``plain.jpg`` as is, ``broken.jpg`` an encrypted object whose body was changed, the
    ``*-file.jpg`` ones with their envelopes in instruction files (see ``move_envelope``);
    bucket ``cache`` empty.  Yields the endpoint, a plain S3 client and the first key."""
    import boto3

    photo = asset("hopper.jpg").read_bytes()
    with environment(**CREDENTIALS), moto_server() as endpoint:
        kms = boto3.client("kms", endpoint_url=endpoint, region_name="eu-west-1")
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="eu-west-1")
        for bucket in ("vault", "cache"):
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        first, second = (kms.create_key()["KeyMetadata"]["KeyId"] for _ in range(2))
        encrypting_client(endpoint, first, committing=True).put_object(Bucket="vault", Key="v3.jpg", Body=photo)
        encrypting_client(endpoint, second, committing=False).put_object(Bucket="vault", Key="v2.jpg", Body=photo)
        s3.put_object(Bucket="vault", Key="plain.jpg", Body=photo)
        stored = s3.get_object(Bucket="vault", Key="v3.jpg")
        body = bytearray(stored["Body"].read())
        body[100] ^= 0xFF
        s3.put_object(Bucket="vault", Key="broken.jpg", Body=bytes(body), Metadata=stored["Metadata"])
        for name, source in (("v3-file.jpg", "v3.jpg"), ("v2-file.jpg", "v2.jpg")):
            move_envelope(s3, source, name)
        # The object-only keys copied into the file as well: the specification forbids it.
        move_envelope(s3, "v3.jpg", "tampered-file.jpg", into_file=OBJECT_ONLY_V3)
        move_envelope(s3, "v3.jpg", "orphan-file.jpg")
        s3.delete_object(Bucket="vault", Key="orphan-file.jpg.instruction")
        with environment(AWS_ENDPOINT_URL_KMS=endpoint):  # botocore's standard endpoint variable
            yield endpoint, s3, first


@pytest.fixture(scope="module")
def decrypting(store: tuple[str, Any, str], start_server: Callable[..., AppServer]) -> AppServer:
    # KMS is asked in the store's region (imgproxy's S3 client settings), where the keys are.
    return start_server(IMGPROXY_USE_S3="true", IMGPROXY_S3_ENDPOINT=store[0], IMGPROXY_S3_REGION="eu-west-1",
                        IMGPROXY_S3_USE_DECRYPTION_CLIENT="true")


@pytest.mark.parametrize("key", ["v3.jpg", "v2.jpg", "plain.jpg", "v3-file.jpg", "v2-file.jpg"])
def test_encrypted_objects_render_as_the_photo(client: httpx.Client, decrypting: AppServer, key: str) -> None:
    """Either format, under either key (the keyring takes whichever KMS key wrapped it), with its
    envelope in the object's metadata or in an instruction file, and an object stored as is
    beside them (no instruction file: served as stored)."""
    response = client.get(decrypting.base + FIT.format(f"s3://vault/{key}"))
    local = client.get(decrypting.base + FIT.format("local:///core/hopper.jpg"))
    assert response.status_code == 200, response.text
    assert response.content == local.content and decode(response.content).width == 64


def test_raw_gives_the_plaintext(client: httpx.Client, decrypting: AppServer) -> None:
    response = client.get(f"{decrypting.base}/unsafe/raw:1/plain/s3://vault/v3.jpg")
    assert response.status_code == 200 and response.content == asset("hopper.jpg").read_bytes()


@pytest.mark.parametrize("key", ["broken.jpg", "tampered-file.jpg", "orphan-file.jpg"])
def test_a_changed_object_is_refused(client: httpx.Client, decrypting: AppServer, key: str) -> None:
    """AES-GCM's tag no longer matches; an instruction file with keys that belong to the object
    only; a v3 object whose instruction file is gone: never a wrong image."""
    response = client.get(decrypting.base + FIT.format(f"s3://vault/{key}"))
    assert response.status_code == 404 and response.text == "Source is unreachable"


def test_without_the_setting_the_ciphertext_is_unprocessable(client: httpx.Client, store: tuple[str, Any, str],
                                                             start_server: Callable[..., AppServer]) -> None:
    server = start_server(IMGPROXY_USE_S3="true", IMGPROXY_S3_ENDPOINT=store[0])
    assert client.get(server.base + FIT.format("s3://vault/v3.jpg")).status_code == 422
    assert client.get(server.base + FIT.format("s3://vault/plain.jpg")).status_code == 200


def test_internal_cache_entries_encrypted_by_another_writer(client: httpx.Client, store: tuple[str, Any, str],
                                                            start_server: Callable[..., AppServer], origin: Origin,
                                                            photo_jpeg: bytes) -> None:
    """IMGPROXY_CACHE_S3_USE_DECRYPTION_CLIENT: a cached result stored client-side encrypted is
    served from the cache; without the setting it can't be read, and the node renders again."""
    endpoint, s3, key_id = store
    cache = {"IMGPROXY_CACHE_USE": "s3", "IMGPROXY_CACHE_BUCKET": "cache", "IMGPROXY_CACHE_S3_ENDPOINT": endpoint,
             "IMGPROXY_CACHE_S3_REGION": "eu-west-1"}
    url = origin.add("/cached.jpg", photo_jpeg)
    target = f"/unsafe/rs:fit:48:48/plain/{url}@png"
    first = client.get(start_server(**cache).base + target)
    assert first.status_code == 200 and origin.count("/cached.jpg") == 1
    (name,) = [o["Key"] for o in s3.list_objects_v2(Bucket="cache")["Contents"]]
    entry = s3.get_object(Bucket="cache", Key=name)["Body"].read()
    encrypting_client(endpoint, key_id, committing=True).put_object(Bucket="cache", Key=name, Body=entry)
    assert s3.get_object(Bucket="cache", Key=name)["Body"].read() != entry

    decrypting = start_server(**cache, IMGPROXY_CACHE_S3_USE_DECRYPTION_CLIENT="true")
    second = client.get(decrypting.base + target)
    assert second.status_code == 200 and second.content == first.content
    assert origin.count("/cached.jpg") == 1 and decrypting.services.internal_cache.renders == 0
    third = client.get(start_server(**cache).base + target)  # the ciphertext is no entry: rendered again
    assert third.status_code == 200 and origin.count("/cached.jpg") == 2


def test_one_pipeline_per_kms_client() -> None:
    """A keyring marks its KMS client's User-Agent when made: built once per region and
    credentials, the header stays as long as it is, request after request."""
    import botocore.session
    from botocore.credentials import Credentials

    from imgproxy_py.sources.s3_decryption import S3Decryptor

    decryptor = S3Decryptor(botocore.session.Session())
    keys = Credentials("testing", "testing").get_frozen_credentials()
    first = decryptor.pipeline("eu-west-1", keys)
    assert all(decryptor.pipeline("eu-west-1", keys) is first for _ in range(3))
    assert decryptor.pipeline("us-east-1", keys) is not first
    agent = first.cmm.keyring.kms_client.meta.config.user_agent_extra or ""
    assert agent.count(agent.split()[-1]) == 1


@pytest.mark.parametrize(("object_keys", "stored"), [
    ({}, b"not json"),
    ({}, b'["a list"]'),
    ({}, json.dumps({"x-amz-key-v2": "k", "x-amz-iv": "i", "x-amz-cek-alg": "AES/GCM/NoPadding",
                     "a-key-no-client-writes": "x"}).encode()),
    # v1/v2: the content metadata belongs in the file only, not in the object's metadata as well
    ({"x-amz-iv": "other"}, json.dumps({"x-amz-key-v2": "k", "x-amz-iv": "i",
                                        "x-amz-cek-alg": "AES/GCM/NoPadding"}).encode()),
])
def test_unusable_instruction_files_are_refused(object_keys: dict[str, str], stored: bytes) -> None:
    from imgproxy_py.errors import SourceUnreachableError
    from imgproxy_py.sources.s3_decryption import with_instruction_file

    with pytest.raises(SourceUnreachableError):
        with_instruction_file("s3://vault/x.jpg", object_keys, stored)


def test_an_instruction_file_completes_the_object_metadata() -> None:
    from imgproxy_py.sources.s3_decryption import with_instruction_file

    envelope = {"x-amz-3": "k", "x-amz-w": "12", "x-amz-m": "{}"}
    merged = with_instruction_file("s3://vault/x.jpg", {"x-amz-c": "115", "x-amz-d": "d", "x-amz-i": "i"},
                                   json.dumps(envelope).encode())
    assert merged == {**envelope, "x-amz-c": "115", "x-amz-d": "d", "x-amz-i": "i"}
