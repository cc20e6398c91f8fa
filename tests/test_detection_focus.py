"""Choosing what a crop keeps: select_focus, place_crop_window, union_box and Box."""

from __future__ import annotations

import pytest

from imgproxy_py.detection import (
    Box,
    Detection,
    GravityMode,
    filter_by_class,
    place_crop_window,
    select_focus,
    subject_box,
    union_box,
)

W, H = 1000, 600


def det(
    name: str, left: float, top: float, width: float, height: float, confidence: float = 0.9
) -> Detection:
    return Detection(0, name, confidence, left, top, width, height)


def focus(
    detections: list[Detection], mode: GravityMode = GravityMode.MAX_SCORE_AREA, **kwargs: object
) -> Box | None:
    options: dict[str, object] = {"class_weights": None, **kwargs}
    return select_focus(detections, mode=mode, image_width=W, image_height=H, **options)  # type: ignore[arg-type]


# -- Box -------------------------------------------------------------------------------------


def test_box_helpers() -> None:
    box = Box(10, 20, 30, 40)
    assert (box.right, box.bottom, box.center, box.area) == (40, 60, (25, 40), 1200)
    assert box.scale(2, 0.5) == Box(20, 10, 60, 20)
    assert box.grow(2) == Box(-5, 0, 60, 80)
    assert box.grow(2).clip(50, 50) == Box(0, 0, 50, 50)
    assert Box(-10, -10, 5, 5).clip(100, 100).area == 0
    assert box.iou(box) == 1 and box.iou(Box(100, 100, 5, 5)) == 0
    assert box.pixel_bounds(35, 100) == (10, 20, 25, 40)
    assert Box(1.5, 2.5, 3.2, 1.1).pixel_bounds(100, 100) == (1, 2, 4, 2)


# -- select_focus ------------------------------------------------------------------------------


def test_nothing_to_focus_on() -> None:
    assert focus([]) is None
    # Weights given, class not among them: default weight 0 ignores it.
    assert focus([det("dog", 0, 0, 10, 10)], class_weights={"face": 1.0}) is None
    assert focus([det("face", 0, 0, 10, 10)], class_weights={"face": 0.0}) is None


def test_one_best_weighs_class_confidence_and_area() -> None:
    small_face = det("face", 100, 100, 50, 50)
    big_dog = det("dog", 600, 100, 100, 100)
    assert focus([small_face, big_dog], GravityMode.ONE_BEST) == big_dog.box
    # face weight 5 outweighs the dog's four times larger area.
    weights = {"face": 5.0, "dog": 1.0}
    assert focus([small_face, big_dog], GravityMode.ONE_BEST, class_weights=weights) == small_face.box
    # objw:face:2:all:0.5 style: unnamed classes get the default weight.
    cat = det("cat", 300, 300, 120, 120, confidence=0.9)
    chosen = focus([small_face, cat], GravityMode.ONE_BEST, class_weights={"face": 2.0}, default_weight=0.5)
    assert chosen == cat.box  # 0.5 * 14400 > 2 * 2500
    # Confidence counts as well.
    unsure = det("dog", 0, 0, 100, 100, confidence=0.1)
    sure = det("dog", 500, 0, 90, 90, confidence=0.9)
    assert focus([unsure, sure], GravityMode.ONE_BEST) == sure.box


def test_one_best_centermost_prefers_the_centre_among_the_best() -> None:
    edge = det("face", 0, 0, 110, 110)  # best score, far corner
    centre = det("face", 450, 250, 100, 100)  # 83 % of the best score, at the centre
    tiny_centre = det("face", 490, 290, 20, 20)  # at the centre but far from the best
    detections = [edge, centre, tiny_centre]
    assert focus(detections, GravityMode.ONE_BEST) == edge.box
    assert focus(detections, GravityMode.ONE_BEST_CENTERMOST) == centre.box
    assert focus([edge, tiny_centre], GravityMode.ONE_BEST_CENTERMOST) == edge.box


def test_max_score_area_without_crop_size_is_the_union_of_the_relevant() -> None:
    a = det("face", 100, 100, 100, 100)
    b = det("face", 700, 300, 100, 100)
    speck = det("face", 950, 550, 10, 10)  # under a tenth of the best score
    assert focus([a, b, speck]) == Box(100, 100, 700, 300)
    assert focus([a, b, speck], class_weights={"face": 1.0}) == Box(100, 100, 700, 300)


def test_max_score_area_picks_the_best_crop_sized_group() -> None:
    # Two faces close together on the left, one bigger face alone on the right.
    pair = [det("face", 50, 100, 100, 100), det("face", 200, 120, 100, 100)]
    single = det("face", 800, 100, 150, 150)
    crop = {"crop_width": 300, "crop_height": 600}
    # The single face scores 22500, the pair 20000: the single wins.
    assert focus([*pair, single], **crop) == single.box
    # Make the pair count more: then both of its faces are kept together.
    heavier = [det("face", 50, 100, 100, 100, 1.0), det("face", 200, 120, 110, 110, 1.0)]
    assert focus([*heavier, single], **crop) == Box(50, 100, 260, 130)
    # A wider crop holds all three.
    assert focus([*pair, single], crop_width=950, crop_height=600) == Box(50, 100, 900, 150)


def test_max_score_area_when_nothing_fits_keeps_the_best() -> None:
    huge = det("person", 100, 0, 600, 600)
    other = det("person", 750, 0, 200, 550, confidence=0.5)
    assert focus([huge, other], crop_width=100, crop_height=100) == huge.box


def test_focus_is_clipped_to_the_image() -> None:
    assert focus([det("face", -20, -20, 100, 100)]) == Box(0, 0, 80, 80)


# -- subject_box: a face's head -------------------------------------------------------------------


def face(landmarks: tuple[tuple[float, float], ...]) -> Detection:
    return Detection(0, "face", 0.9, 100, 100, 60, 80, landmarks)


# Eyes, nose, mouth corners of a face box at x 100-160, y 100-180.
FRONTAL = ((115, 130), (145, 130), (130, 150), (118, 165), (142, 165))
TURNED_RIGHT = ((140, 130), (152, 130), (154, 150), (134, 165), (144, 166))  # nose near the right edge


def test_a_frontal_face_keeps_its_box() -> None:
    assert subject_box(face(FRONTAL)) == Box(100, 100, 60, 80)
    assert subject_box(face(())) == Box(100, 100, 60, 80)  # no landmarks: an object model's face
    assert subject_box(det("dog", 100, 100, 60, 80)) == Box(100, 100, 60, 80)


def test_a_turned_head_is_extended_behind_the_face() -> None:
    head = subject_box(face(TURNED_RIGHT))
    # The nose is 24 px right of the centre along the eye line: half of it is added on the
    # left, the side of the ear and the back of the head; the other edges stay.
    assert head == Box(88, 100, 72, 80)
    mirrored = tuple((260 - x, y) for x, y in TURNED_RIGHT)
    head = subject_box(face(tuple(reversed(mirrored[:2])) + mirrored[2:]))
    assert head == Box(100, 100, 72, 80)


def test_the_head_follows_the_eye_line_in_a_rotated_photo() -> None:
    # The TURNED_RIGHT face rotated a quarter turn: its eye line is vertical, so the head
    # grows along y, not x.
    rotated = Detection(0, "face", 0.9, 100, 100, 80, 60, tuple((y, 260 - x) for x, y in TURNED_RIGHT))
    assert subject_box(rotated) == Box(100, 100, 80, 72)


def test_gravity_keeps_the_head_and_the_score_uses_the_face() -> None:
    turned = face(TURNED_RIGHT)
    assert focus([turned]) == subject_box(turned)
    # A 74 px window around a 60 px box centred on the box would cut the back of the head.
    left, _ = place_crop_window(focus([turned], crop_width=74, crop_height=H), W, H, 74, H)
    assert left <= 88 and left + 74 >= 160


# -- place_crop_window ---------------------------------------------------------------------------


def test_window_is_centred_on_a_focus_that_fits() -> None:
    assert place_crop_window(Box(450, 250, 100, 100), W, H, 300, 300) == (350, 150)


def test_window_keeps_the_whole_focus_despite_rounding() -> None:
    focus_box = Box(100.6, 0, 199.2, 10)  # right edge at 299.8, one pixel less wide than the crop
    left, _ = place_crop_window(focus_box, W, H, 200, 600)
    assert left <= 100.6 and left + 200 >= 299.8


def test_window_is_clamped_to_the_image() -> None:
    assert place_crop_window(Box(0, 0, 50, 50), W, H, 300, 300) == (0, 0)
    assert place_crop_window(Box(980, 580, 20, 20), W, H, 300, 300) == (700, 300)
    # A crop as large as the image can only start at 0.
    assert place_crop_window(Box(400, 200, 10, 10), W, H, W, H) == (0, 0)


def test_too_wide_focus_is_centred() -> None:
    left, top = place_crop_window(Box(100, 100, 600, 100), W, H, 200, 300)
    assert left == 300  # centre 400 - 100
    assert top == 0  # the 100 px tall focus fits: centred at 150 means top 0 after clamping


def test_too_tall_face_keeps_its_top() -> None:
    face = Box(400, 100, 200, 300)  # the eyes are at about y = 100 + 0.4 * 300 = 220
    _, top = place_crop_window(face, W, H, 300, 250)  # just under the height: keep from the top
    assert top == 100
    _, top = place_crop_window(face, W, H, 300, 100)  # much smaller: centre on the eye line
    assert top == 170
    assert top < 220 < top + 100


# -- union_box and filter_by_class ---------------------------------------------------------------


def test_union_box_grows_about_its_centre() -> None:
    detections = [det("face", 100, 100, 100, 100), det("dog", 300, 150, 100, 50)]
    assert union_box(detections, 1.0) == Box(100, 100, 300, 100)
    assert union_box(detections, 1.2) == Box(70, 90, 360, 120)
    with pytest.raises(ValueError):
        union_box([], 1.0)


def test_filter_by_class() -> None:
    detections = [det("face", 0, 0, 1, 1), det("dog", 0, 0, 1, 1)]
    assert filter_by_class(detections, ["dog"]) == (detections[1],)
    assert filter_by_class(detections, None) == tuple(detections)
    assert filter_by_class(detections, ["all"]) == tuple(detections)
