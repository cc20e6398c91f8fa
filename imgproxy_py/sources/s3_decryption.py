"""Client-side encrypted S3 objects (``IMGPROXY_S3_USE_DECRYPTION_CLIENT``), decrypted as imgproxy
does: with AWS's S3 Encryption Client (the ``cloud`` extra), its KMS keyring decrypting with
whichever KMS key wrapped the object's data key (imgproxy's decrypt-only "any key" keyring), and
objects with or without key commitment (v2 and v3 formats) accepted.

The object is downloaded as any other (signed, streamed under the size limit, conditional).
An object whose metadata carries an encryption envelope is decrypted.  For one whose metadata
does not, the envelope may be in an instruction file, ``<key>.instruction`` (as the S3 Encryption
Clients can write it): the caller fetches it, and where there is none the object is served as
stored, so a bucket holding both kinds serves both.  The library parses the instruction file;
the two rules the S3 Encryption Client specification sets on combining it with the object's
metadata are checked here, as the library checks them when it fetches the file itself.
"""

from __future__ import annotations

import asyncio
import io
import threading
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from imgproxy_py.errors import SourceUnreachableError

METADATA_PREFIX = "x-amz-meta-"
# The metadata naming an object's encrypted data key, in the v1 and v2 formats, then in v3.
V1_V2_DATA_KEYS = ("x-amz-key", "x-amz-key-v2")
ENVELOPE_KEYS = (*V1_V2_DATA_KEYS, "x-amz-3")
INSTRUCTION_SUFFIX = ".instruction"
MAX_INSTRUCTION_BYTES = 64 * 1024  # an envelope is a few hundred bytes
# The specification's "v3 instruction files": these stay in the object's metadata, never in the file.
V3_OBJECT_ONLY_KEYS = frozenset({"x-amz-c", "x-amz-d", "x-amz-i"})
# Its "v1/v2 instruction files": all the content metadata is in the file, none in the object's.
V1_V2_CONTENT_KEYS = ("x-amz-cek-alg", "x-amz-iv", "x-amz-wrap-alg")
# The keyring needs a key id, which only its own KMS calls use: the client below drops it.
ANY_KEY = "any"
MAX_KMS_CLIENTS = 16  # one per region and credentials


# Fetches an object's instruction file: its bytes, or None where there is none.
InstructionFetch = Callable[[], Awaitable[bytes | None]]


def has_envelope(metadata: Mapping[str, str]) -> bool:
    return any(key in metadata for key in ENVELOPE_KEYS)


def object_metadata(headers: Mapping[str, str]) -> dict[str, str]:
    return {name[len(METADATA_PREFIX):]: value for name, value in headers.items() if name.startswith(METADATA_PREFIX)}


def with_instruction_file(url: str, metadata: dict[str, str], stored: bytes) -> dict[str, str]:
    """The object's metadata with the envelope of its instruction file ``stored``."""
    from s3_encryption.instruction_file import parse_instruction_file

    try:
        envelope = parse_instruction_file(stored, url + INSTRUCTION_SUFFIX)
    except Exception as exc:  # not JSON, or keys an S3 Encryption Client never writes
        raise SourceUnreachableError(f"{url}: unusable instruction file: {exc}") from exc
    if V3_OBJECT_ONLY_KEYS & set(envelope):
        raise SourceUnreachableError(f"{url}: the instruction file carries object-only keys")
    if any(k in envelope for k in V1_V2_DATA_KEYS) and any(k in metadata for k in V1_V2_CONTENT_KEYS):
        raise SourceUnreachableError(f"{url}: content metadata both in the object and its instruction file")
    return {**envelope, **metadata}


class _AnyKeyKms:
    """A KMS client whose Decrypt lets KMS take the key from the ciphertext (a symmetric key's
    ciphertext names it), instead of requiring the one configured."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def decrypt(self, **kwargs: Any) -> Any:
        kwargs.pop("KeyId", None)
        return self._client.decrypt(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


class S3Decryptor:
    def __init__(self, session: Any) -> None:
        # The cloud extra: ImportError tells the caller it is missing.
        from s3_encryption.materials.crypto_materials_manager import DefaultCryptoMaterialsManager
        from s3_encryption.materials.kms_keyring import KmsKeyring
        from s3_encryption.materials.materials import CommitmentPolicy
        from s3_encryption.pipelines import GetEncryptedObjectPipeline

        self.session = session
        self._keyring: Any = KmsKeyring
        self._cmm: Any = DefaultCryptoMaterialsManager
        self._pipeline: Any = GetEncryptedObjectPipeline
        # Decrypt objects written with key commitment or without (never encrypts).
        self._policy = CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT
        # One pipeline per KMS client, built once: a keyring marks its client's User-Agent as it
        # is made, so a keyring per request would lengthen that header on every request.
        self._pipelines: dict[tuple[str, Any], Any] = {}
        self._lock = threading.Lock()

    async def plaintext(self, url: str, data: bytes, headers: Mapping[str, str], region: str,
                        credentials: Any, instruction: InstructionFetch | None = None) -> bytes:
        """An object's body as stored, or, when its metadata or its instruction file (fetched by
        ``instruction``) carries an encryption envelope, decrypted in a thread (a KMS call, then AES)."""
        metadata = object_metadata(headers)
        if not has_envelope(metadata):
            stored = await instruction() if instruction is not None else None
            if stored is None:
                if "x-amz-c" in metadata:  # a v3 object whose envelope is in a file that is gone
                    raise SourceUnreachableError(f"{url}: the object's instruction file is missing")
                return data
            metadata = with_instruction_file(url, metadata, stored)
        return await asyncio.to_thread(self.decrypt, url, data, metadata, region, credentials)

    def decrypt(self, url: str, data: bytes, metadata: dict[str, str], region: str, credentials: Any) -> bytes:
        """The plaintext of an encrypted object's body, given its envelope (blocking)."""
        from botocore.response import StreamingBody

        try:
            plaintext = self.pipeline(region, credentials).decrypt(
                {"Body": StreamingBody(io.BytesIO(data), len(data)), "Metadata": metadata, "ContentLength": len(data)},
                instruction_suffix=INSTRUCTION_SUFFIX, enable_delayed_authentication=False)
            return bytes(plaintext.read())
        except Exception as exc:  # the library's and KMS's errors: the object can't be read
            raise SourceUnreachableError(f"{url}: can't decrypt the object: {exc}") from exc

    def pipeline(self, region: str, credentials: Any) -> Any:
        """The decryption pipeline whose KMS client asks ``region`` with ``credentials``."""
        frozen = (credentials.access_key, credentials.secret_key, credentials.token) if credentials else None
        with self._lock:
            pipeline = self._pipelines.get((region, frozen))
            if pipeline is None:
                if len(self._pipelines) >= MAX_KMS_CLIENTS:  # rotated credentials: drop the old ones
                    self._pipelines.clear()
                keys = dict(zip(("aws_access_key_id", "aws_secret_access_key", "aws_session_token"),
                                frozen, strict=True)) if frozen else {}
                kms = self.session.create_client("kms", region_name=region, **keys)
                keyring = self._keyring(_AnyKeyKms(kms), ANY_KEY)
                pipeline = self._pipeline(self._cmm(keyring), commitment_policy=self._policy)
                self._pipelines[(region, frozen)] = pipeline
            return pipeline
