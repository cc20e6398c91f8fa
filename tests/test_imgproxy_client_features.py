"""imgproxy's own client-features detector tests (``clientfeatures/detector_test.go``, imgproxy
v4 commit eef3b312, Apache-2.0) run against ours: ``client_features`` in
``imgproxy_py.server.checks`` on a starlette ``Request`` built from a scope (no server), then
``OptionsParser.parse`` as a request would, and ``vary_header`` in ``imgproxy_py.server.processing``.

imgproxy's ``clientfeatures.Config`` is the ``IMGPROXY_AUTO_*``/``IMGPROXY_ENFORCE_*``/
``IMGPROXY_ENABLE_CLIENT_HINTS`` settings; its ``Features`` is our ``ClientFeatures`` (what the
headers say: the client hints' DPR and width) with the ``prefer_*``/``enforce_*`` flags the
parser sets from it and those settings (``OutputOptions``)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from starlette.requests import Request

from imgproxy_py.server.checks import client_features
from imgproxy_py.server.processing import vary_header
from tests.servers import services_for

ACCEPT_ALL_BUT = "image/apng,image/*,*/*;q=0.8"
HINTS = {"IMGPROXY_ENABLE_CLIENT_HINTS": "true"}


@dataclass(frozen=True)
class Features:
    """imgproxy's ``clientfeatures.Features``; the zero value is ``Features()``."""

    prefer_webp: bool = False
    enforce_webp: bool = False
    prefer_avif: bool = False
    enforce_avif: bool = False
    prefer_jxl: bool = False
    enforce_jxl: bool = False
    client_hints_width: int = 0
    client_hints_dpr: float = 0.0


def request(headers: dict[str, str]) -> Request:
    raw = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()]
    return Request({"type": "http", "method": "GET", "path": "/", "query_string": b"", "headers": raw})


def detect(env: dict[str, str], headers: dict[str, str]) -> Features:
    """imgproxy's ``NewDetector(&config).Features(header)``."""
    built = services_for(env)
    found = client_features(request(headers), built)
    out = built.options.parse([], "", found).output
    return Features(out.prefer_webp, out.enforce_webp, out.prefer_avif, out.enforce_avif, out.prefer_jxl,
                    out.enforce_jxl, found.width, found.dpr)


def case(go_test: str, name: str, env: dict[str, str], headers: dict[str, str], expected: Features) -> object:
    return pytest.param(env, headers, expected, id=f"{go_test}/{name}")


FORMATS = "TestFeaturesAutoFormats"
DPR = "TestFeaturesClientHintsDPR"
WIDTH = "TestFeaturesClientHintsWidth"


@pytest.mark.parametrize(("env", "headers", "expected"), [
    case(FORMATS, "AutoWebP_ConainsWebP", {"IMGPROXY_AUTO_WEBP": "true"},
         {"Accept": "image/webp," + ACCEPT_ALL_BUT}, Features(prefer_webp=True)),
    case(FORMATS, "AutoWebP_DoesNotContainWebP", {"IMGPROXY_AUTO_WEBP": "true"},
         {"Accept": ACCEPT_ALL_BUT}, Features()),
    case(FORMATS, "EnforceWebP_ContainsWebP", {"IMGPROXY_ENFORCE_WEBP": "true"},
         {"Accept": "image/webp," + ACCEPT_ALL_BUT}, Features(prefer_webp=True, enforce_webp=True)),
    case(FORMATS, "EnforceWebP_DoesNotContainWebP", {"IMGPROXY_ENFORCE_WEBP": "true"},
         {"Accept": ACCEPT_ALL_BUT}, Features()),
    case(FORMATS, "AutoAvif_ContainsAvif", {"IMGPROXY_AUTO_AVIF": "true"},
         {"Accept": "image/avif," + ACCEPT_ALL_BUT}, Features(prefer_avif=True)),
    case(FORMATS, "AutoAvif_DoesNotContainAvif", {"IMGPROXY_AUTO_AVIF": "true"},
         {"Accept": ACCEPT_ALL_BUT}, Features()),
    case(FORMATS, "EnforceAvif_ContainsAvif", {"IMGPROXY_ENFORCE_AVIF": "true"},
         {"Accept": "image/avif," + ACCEPT_ALL_BUT}, Features(prefer_avif=True, enforce_avif=True)),
    case(FORMATS, "EnforceAvif_DoesNotContainAvif", {"IMGPROXY_ENFORCE_AVIF": "true"},
         {"Accept": ACCEPT_ALL_BUT}, Features()),
    case(FORMATS, "AutoJXL_ContainsJXL", {"IMGPROXY_AUTO_JXL": "true"},
         {"Accept": "image/jxl," + ACCEPT_ALL_BUT}, Features(prefer_jxl=True)),
    case(FORMATS, "AutoJXL_DoesNotContainJXL", {"IMGPROXY_AUTO_JXL": "true"},
         {"Accept": ACCEPT_ALL_BUT}, Features()),
    case(FORMATS, "EnforceJXL_ContainsJXL", {"IMGPROXY_ENFORCE_JXL": "true"},
         {"Accept": "image/jxl," + ACCEPT_ALL_BUT}, Features(prefer_jxl=True, enforce_jxl=True)),
    case(FORMATS, "EnforceJXL_DoesNotContainJXL", {"IMGPROXY_ENFORCE_JXL": "true"},
         {"Accept": ACCEPT_ALL_BUT}, Features()),
    case(FORMATS, "NoneEnabled_ContainsAll",
         {name: "false" for name in ("IMGPROXY_AUTO_WEBP", "IMGPROXY_ENFORCE_WEBP", "IMGPROXY_AUTO_AVIF",
                                     "IMGPROXY_ENFORCE_AVIF", "IMGPROXY_AUTO_JXL", "IMGPROXY_ENFORCE_JXL")},
         {"Accept": "image/webp,image/avif,image/jxl," + ACCEPT_ALL_BUT}, Features()),
    case(DPR, "ClientHintsEnabled_ValidDPR", HINTS, {"DPR": "1.5"}, Features(client_hints_dpr=1.5)),
    case(DPR, "ClientHintsEnabled_ValidSecChDPR", HINTS, {"Sec-CH-DPR": "2.0"}, Features(client_hints_dpr=2.0)),
    case(DPR, "ClientHintsEnabled_ValidDprAndSecChDPR", HINTS, {"DPR": "3.0", "Sec-CH-DPR": "2.5"},
         Features(client_hints_dpr=2.5)),
    case(DPR, "ClientHintsEnabled_InvalidDPR_Negative", HINTS, {"DPR": "-1.0"}, Features()),
    case(DPR, "ClientHintsEnabled_InvalidDPR_TooHigh", HINTS, {"DPR": "10.0"}, Features()),
    case(DPR, "ClientHintsEnabled_InvalidDPR_NonNumeric", HINTS, {"DPR": "abc"}, Features()),
    case(DPR, "ClientHintsDisabled", {"IMGPROXY_ENABLE_CLIENT_HINTS": "false"},
         {"DPR": "2.0", "Sec-CH-DPR": "3.0"}, Features()),
    case(WIDTH, "ClientHintsEnabled_ValidWidth", HINTS, {"Width": "800"}, Features(client_hints_width=800)),
    case(WIDTH, "ClientHintsEnabled_ValidSecChWidth", HINTS, {"Sec-CH-Width": "1024"},
         Features(client_hints_width=1024)),
    case(WIDTH, "ClientHintsEnabled_ValidWidthAndSecChWidth", HINTS, {"Width": "1280", "Sec-CH-Width": "1440"},
         Features(client_hints_width=1440)),
    case(WIDTH, "ClientHintsEnabled_InvalidWidth_Negative", HINTS, {"Width": "-800"}, Features()),
    case(WIDTH, "ClientHintsEnabled_InvalidWidth_NonNumeric", HINTS, {"Width": "abc"}, Features()),
    case(WIDTH, "ClientHintsDisabled", {"IMGPROXY_ENABLE_CLIENT_HINTS": "false"},
         {"Width": "800", "Sec-CH-Width": "1024"}, Features()),
])
def test_features(env: dict[str, str], headers: dict[str, str], expected: Features) -> None:
    assert detect(env, headers) == expected


VARY_CASES = [
    ("AutoWebP_Enabled", {"IMGPROXY_AUTO_WEBP": "true"}, "Accept"),
    ("EnforceWebP_Enabled", {"IMGPROXY_ENFORCE_WEBP": "true"}, "Accept"),
    ("AutoAvif_Enabled", {"IMGPROXY_AUTO_AVIF": "true"}, "Accept"),
    ("EnforceAvif_Enabled", {"IMGPROXY_ENFORCE_AVIF": "true"}, "Accept"),
    ("AutoJXL_Enabled", {"IMGPROXY_AUTO_JXL": "true"}, "Accept"),
    ("EnforceJXL_Enabled", {"IMGPROXY_ENFORCE_JXL": "true"}, "Accept"),
    ("EnableClientHints_Enabled", HINTS, "Sec-Ch-Dpr, Dpr, Sec-Ch-Width, Width"),
    ("Combined", {"IMGPROXY_AUTO_WEBP": "true", **HINTS}, "Accept, Sec-Ch-Dpr, Dpr, Sec-Ch-Width, Width"),
]


@pytest.mark.parametrize(("env", "expected"), [
    pytest.param(env, expected, id=f"TestSetVary/{name}") for name, env, expected in VARY_CASES])
def test_set_vary_names(env: dict[str, str], expected: str) -> None:
    """The header names Vary lists, in imgproxy's order; names compared as HTTP compares them
    (case-insensitively, RFC 9110 §5.1)."""
    assert vary_header(services_for(env)).lower() == expected.lower()


@pytest.mark.parametrize(("env", "expected"), [
    pytest.param(env, expected, id=f"TestSetVary/{name}")
    for name, env, expected in VARY_CASES])
def test_set_vary_exact(env: dict[str, str], expected: str) -> None:
    """imgproxy's exact value of Vary (``header.Get(Vary)``)."""
    assert vary_header(services_for(env)) == expected
