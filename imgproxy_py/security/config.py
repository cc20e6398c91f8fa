"""Settings of signatures, source-address checks and resource limits (imgproxy's security settings)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from imgproxy_py.envreader import EnvReader
from imgproxy_py.wildcards import wildcard_regexp


@dataclass(frozen=True)
class SecurityConfig:
    key_salt_pairs: tuple[tuple[bytes, bytes], ...] = ()
    signature_size: int = 32
    trusted_signatures: tuple[str, ...] = ()
    allowed_sources: tuple[re.Pattern[str], ...] = ()
    allow_loopback: bool = False
    allow_link_local: bool = False
    allow_private: bool = True
    max_src_resolution: int = 50_000_000
    max_src_file_size: int = 0
    max_animation_frames: int = 1
    max_animation_frame_resolution: int = 0
    max_result_dimension: int = 0
    allowed_processing_options: frozenset[str] = frozenset()
    source_url_encryption_key: bytes = b""
    # Whether URLs may use max_src_resolution & co. (over the limits above) and bypass_cache.
    allow_security_options: bool = False
    allow_bypass_cache: bool = False

    @property
    def signing_enabled(self) -> bool:
        return bool(self.key_salt_pairs)

    @staticmethod
    def from_env(r: EnvReader) -> SecurityConfig:
        keys = r.hex_list("IMGPROXY_KEY")
        salts = r.hex_list("IMGPROXY_SALT")
        if len(keys) != len(salts):
            r.errors.append("IMGPROXY_KEY and IMGPROXY_SALT must have the same number of entries")
        enc_key = b""
        if r.has("IMGPROXY_SOURCE_URL_ENCRYPTION_KEY"):
            enc_key = r.hex_list("IMGPROXY_SOURCE_URL_ENCRYPTION_KEY")[0] if r.hex_list(
                "IMGPROXY_SOURCE_URL_ENCRYPTION_KEY") else b""
            if len(enc_key) not in (16, 24, 32):
                r.errors.append("IMGPROXY_SOURCE_URL_ENCRYPTION_KEY must be 16, 24 or 32 bytes of hex")
        return SecurityConfig(
            key_salt_pairs=tuple(zip(keys, salts, strict=False)),
            signature_size=r.integer("IMGPROXY_SIGNATURE_SIZE", 32, minimum=1, maximum=32),
            trusted_signatures=r.string_list("IMGPROXY_TRUSTED_SIGNATURES"),
            allowed_sources=tuple(source_pattern(s) for s in r.string_list("IMGPROXY_ALLOWED_SOURCES")),
            allow_loopback=r.boolean("IMGPROXY_ALLOW_LOOPBACK_SOURCE_ADDRESSES", False),
            allow_link_local=r.boolean("IMGPROXY_ALLOW_LINK_LOCAL_SOURCE_ADDRESSES", False),
            allow_private=r.boolean("IMGPROXY_ALLOW_PRIVATE_SOURCE_ADDRESSES", True),
            max_src_resolution=int(r.number("IMGPROXY_MAX_SRC_RESOLUTION", 50.0, minimum=0) * 1_000_000),
            max_src_file_size=r.integer("IMGPROXY_MAX_SRC_FILE_SIZE", 0, minimum=0),
            max_animation_frames=r.integer("IMGPROXY_MAX_ANIMATION_FRAMES", 1, minimum=1),
            max_animation_frame_resolution=int(
                r.number("IMGPROXY_MAX_ANIMATION_FRAME_RESOLUTION", 0.0, minimum=0) * 1_000_000),
            max_result_dimension=r.integer("IMGPROXY_MAX_RESULT_DIMENSION", 0, minimum=0),
            allowed_processing_options=frozenset(r.string_list("IMGPROXY_ALLOWED_PROCESSING_OPTIONS")),
            source_url_encryption_key=enc_key,
            allow_security_options=r.boolean("IMGPROXY_ALLOW_SECURITY_OPTIONS", False),
            allow_bypass_cache=r.boolean("IMGPROXY_ALLOW_BYPASS_CACHE", False),
        )


def source_pattern(prefix: str) -> re.Pattern[str]:
    """An allowed-source prefix as imgproxy matches it: ``*`` is any run of characters but ``/``."""
    return wildcard_regexp(prefix)
