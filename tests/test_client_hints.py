"""Client hints as imgproxy reads them (``IMGPROXY_ENABLE_CLIENT_HINTS``), on the cases of its own
``clientfeatures/detector_test.go`` (imgproxy v4): ``Sec-CH-DPR`` before ``DPR`` and
``Sec-CH-Width`` before ``Width``, a DPR in (0, 8], a width a positive whole number."""

from __future__ import annotations

import pytest

from imgproxy_py.server.checks import client_hints


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"dpr": "1.5"}, (1.5, 0)),
        ({"sec-ch-dpr": "2.0"}, (2.0, 0)),
        ({"dpr": "3.0", "sec-ch-dpr": "2.5"}, (2.5, 0)),
        ({"dpr": "-1.0"}, (0.0, 0)),
        ({"dpr": "10.0"}, (0.0, 0)),  # above imgproxy's 8
        ({"dpr": "abc"}, (0.0, 0)),
        ({"width": "800"}, (0.0, 800)),
        ({"sec-ch-width": "1024"}, (0.0, 1024)),
        ({"width": "1280", "sec-ch-width": "1440"}, (0.0, 1440)),
        ({"width": "-800"}, (0.0, 0)),
        ({"width": "abc"}, (0.0, 0)),
        # Beyond imgproxy's table: what Go's parsers refuse and Python's would take.
        ({"dpr": "8"}, (8.0, 0)),
        ({"dpr": "nan"}, (0.0, 0)),
        ({"dpr": "inf"}, (0.0, 0)),
        ({"dpr": "1_5"}, (0.0, 0)),
        ({"dpr": " 2"}, (0.0, 0)),
        ({"sec-ch-dpr": "9", "dpr": "2"}, (2.0, 0)),  # the first usable one
        ({"width": "800.5"}, (0.0, 0)),
        ({"width": "8_00"}, (0.0, 0)),
        ({"width": "9" * 5000}, (0.0, 0)),
        ({"sec-ch-width": "0", "width": "640"}, (0.0, 640)),
    ],
)
def test_client_hints(headers: dict[str, str], expected: tuple[float, int]) -> None:
    assert client_hints(headers) == expected
