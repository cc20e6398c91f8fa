"""Detections shared through Redis are read back only as ``encode`` wrote them: a damaged or
foreign entry is detected again, never used to place a crop or a blur."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imgproxy_py.cluster.shared_detections import decode, encode
from imgproxy_py.detection import Detection

FACE = Detection(0, "face", 0.91, 0.35, 0.11, 0.18, 0.24, ((0.4, 0.2), (0.47, 0.2)))
ROW = json.loads(encode((FACE,)))[0]


def test_detections_are_read_back_as_written() -> None:
    assert decode(encode((FACE, FACE))) == (FACE, FACE)
    assert decode(encode(())) == ()
    # A custom object model's scores need not lie in 0..1.
    logit = Detection(3, "car", 7.5, 0.0, 0.5, 1.0, 0.5)
    assert decode(encode((logit,))) == (logit,)


@pytest.mark.parametrize(("field", "value"), [
    pytest.param(0, 1e400, id="class-id-infinite"),
    pytest.param(0, -1, id="class-id-negative"),
    pytest.param(1, 7, id="class-name-not-text"),
    pytest.param(2, 1e400, id="confidence-infinite"),
    pytest.param(3, float("nan"), id="left-nan"),
    pytest.param(3, "0.1", id="left-text"),
    pytest.param(4, -0.5, id="top-outside"),
    pytest.param(5, 2.0, id="width-past-the-picture"),
    pytest.param(6, -0.1, id="height-negative"),
    pytest.param(7, [[1e400, 0.1]], id="landmark-infinite"),
    pytest.param(7, [[0.1]], id="landmark-one-coordinate"),
    pytest.param(7, 5, id="landmarks-not-a-list"),
])
def test_a_field_no_detection_of_ours_has_is_refused(field: int, value: object) -> None:
    row = list(ROW)
    row[field] = value
    with pytest.raises(ValueError):
        decode(json.dumps([row]).encode())


@pytest.mark.parametrize("blob", [b"", b"{", b"{}", b"[1]", b"[[1, 2]]", b"null", b'"x"', b"[[]]"])
def test_a_blob_that_is_no_list_of_detections_is_refused(blob: bytes) -> None:
    with pytest.raises(ValueError):
        decode(blob)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 200), st.integers(0, 255)), min_size=1, max_size=4))
def test_a_damaged_blob_is_refused_or_in_the_picture(flips: list[tuple[int, int]]) -> None:
    damaged = bytearray(encode((FACE,)))
    for at, value in flips:
        damaged[at % len(damaged)] = value
    try:
        found = decode(bytes(damaged))
    except ValueError:
        return
    for d in found:
        assert 0 <= d.box.right <= 1 + 1e-6 and 0 <= d.box.bottom <= 1 + 1e-6 and d.width >= 0 and d.height >= 0
