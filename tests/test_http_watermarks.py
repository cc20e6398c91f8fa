"""imgproxy Pro's watermark options through the server, on a real photo, with the watermark
images on a real loopback origin: what each option is read as, what it does to the pixels, the
download (its errors and its cache) and the README's examples on the demo images."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import numpy as np
import numpy.typing as npt
import pytest
import pyvips

from imgproxy_py.options.catalog import PROCESSING_OPTIONS
from imgproxy_py.options.registry import Option
from imgproxy_py.options.values_watermarks import MAX_WATERMARK_TEXT
from imgproxy_py.url.arguments import b64
from tests.servers import AppServer, Origin

DEMO = Path(__file__).resolve().parents[1] / "imgproxy_py" / "demo"
MAGENTA = [255, 0, 255]
CYAN = [0, 255, 255]
Pixels = npt.NDArray[np.int_]


def png(width: int, height: int, rgb: list[int]) -> bytes:
    return bytes((pyvips.Image.black(width, height) + rgb).cast("uchar").copy(interpretation="srgb").pngsave_buffer())


@pytest.fixture(scope="module")
def marks(origin: Origin, landscape_jpeg: bytes) -> dict[str, str]:
    """The photo (600x400) and the watermark images, by name, as origin URLs."""
    return {
        "photo": origin.add("/wm/coffee.jpg", landscape_jpeg),
        "bar": origin.add("/wm/bar.png", png(40, 20, MAGENTA)),  # 2:1
        "square": origin.add("/wm/square.png", png(20, 20, MAGENTA)),
        "white": origin.add("/wm/white.png", png(40, 20, [255, 255, 255])),
        "cyan": origin.add("/wm/cyan.png", png(20, 20, CYAN)),
        "missing": origin.url("/wm/missing.png"),
    }


def get(server: AppServer, client: httpx.Client, options: str, source: str) -> httpx.Response:
    return client.get(f"{server.base}/unsafe/rs:fit:300:200/{options}/plain/{source}@png")


def pixels(response: httpx.Response) -> Pixels:
    assert response.status_code == 200, response.text
    img = pyvips.Image.new_from_buffer(response.content, "")
    return np.ndarray(buffer=img.write_to_memory(), dtype=np.uint8,
                      shape=(img.height, img.width, img.bands)).astype(int)


def changed_box(plain: Pixels, marked: Pixels, threshold: int = 24) -> tuple[int, int, int, int]:
    """left, top, width, height of the pixels the watermark changed by more than ``threshold``."""
    ys, xs = np.nonzero(np.abs(marked - plain).max(axis=2) > threshold)
    assert len(xs), "nothing changed"
    return int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)


@pytest.fixture(scope="module")
def marked(server: AppServer, client: httpx.Client, marks: dict[str, str]) -> Callable[[str], Pixels]:
    """The photo at 300x200 with these options; "{bar}" and the like stand for watermark_url."""

    def run(options: str) -> Pixels:
        encoded = {name: b64(url) for name, url in marks.items()}
        return pixels(get(server, client, options.format(**encoded), marks["photo"]))

    return run


@pytest.fixture(scope="module")
def plain(marked: Callable[[str], Pixels]) -> Pixels:
    return marked("cb:plain")


def test_text_changes_the_corner_and_nothing_else(marked: Callable[[str], Pixels], plain: Pixels) -> None:
    text = b64('<span foreground="white" size="24000"><b>imgproxy</b></span>')
    with_text = marked(f"wm:1:soea:10:10/wmt:{text}")
    left, top, width, height = changed_box(plain, with_text, threshold=0)  # every changed pixel
    assert left > 150 and top > 100  # in the bottom-right corner...
    assert 290 - 4 <= left + width <= 290 and 190 - 4 <= top + height <= 190  # ...10 px in
    assert 60 < width < 150 and 15 < height < 45
    assert np.abs(with_text - plain).max() == 255  # white on the photo


def test_text_defaults_to_black(marked: Callable[[str], Pixels], plain: Pixels) -> None:
    with_text = marked("wm:1:nowe/wmt:" + b64("imgproxy"))
    left, top, width, height = changed_box(plain, with_text, threshold=0)
    assert left <= 2 and top <= 4 and 10 <= height <= 20
    assert with_text[top:top + height, left:left + width].min() == 0


@pytest.mark.parametrize(
    ("options", "size"),
    [
        ("wm:1:ce/wmu:{bar}", (40, 20)),
        ("wm:1:ce/wmu:{bar}/wms:100:0", (100, 50)),
        ("wm:1:ce/wmu:{bar}/wms:0:30", (60, 30)),
        ("wm:1:ce/wmu:{bar}/wms:100:100", (100, 50)),  # fit, enlarged
        ("wm:1:ce:0:0:0.5/wmu:{bar}/wms:10:10", (150, 75)),  # scale wins: half of 300x200
        ("wm:1:ce/wmu:{bar}/wms:100:0/wmr:90", (50, 100)),
        ("wm:1:ce/wmu:{bar}/wms:100:0/wm_rot:-90", (50, 100)),
        ("wm:1:ce/wmu:{square}/wms:60:60/watermark_rotate:45", (85, 85)),  # the diagonal
    ],
)
def test_size_and_rotation_footprint(marked: Callable[[str], Pixels], plain: Pixels, options: str,
                                     size: tuple[int, int]) -> None:
    width, height = changed_box(plain, marked(options))[2:]
    assert abs(width - size[0]) <= 2 and abs(height - size[1]) <= 2


def test_rotation_by_45_leaves_the_corners(marked: Callable[[str], Pixels], plain: Pixels) -> None:
    rotated = marked("wm:1:ce/wmu:{square}/wms:60:60/wmr:45")
    left, top, width, height = changed_box(plain, rotated)
    centre = rotated[top + height // 2, left + width // 2]
    assert list(centre[:3]) == MAGENTA
    for x, y in ((left, top), (left + width - 1, top), (left, top + height - 1)):
        assert np.abs(rotated[y, x] - plain[y, x]).max() <= 24  # a diamond: its box's corners stay


def test_shadow_darkens_around_the_mark(marked: Callable[[str], Pixels], plain: Pixels) -> None:
    flat = marked("wm:1:ce/wmu:{white}/wms:100:0")
    shadowed = marked("wm:1:ce/wmu:{white}/wms:100:0/wmsh:4")
    left, top, width, height = changed_box(plain, flat)
    ring = np.zeros(plain.shape[:2], bool)
    ring[top - 4:top + height + 4, left - 4:left + width + 4] = True
    ring[top:top + height, left:left + width] = False
    assert np.all(shadowed[ring] <= plain[ring])  # darker just around it
    assert shadowed[ring].mean() < plain[ring].mean() - 15
    assert np.array_equal(shadowed[top:top + height, left:left + width], flat[top:top + height, left:left + width])
    far = np.ones(plain.shape[:2], bool)
    far[top - 14:top + height + 14, left - 14:left + width + 14] = False
    assert np.array_equal(shadowed[far], plain[far])  # and nowhere else


def is_magenta(block: Pixels) -> bool:
    return bool(np.all(block[..., :3] == MAGENTA))


def test_chessboard_leaves_every_other_cell(marked: Callable[[str], Pixels]) -> None:
    # 20x20 tiles over 300x200, centred: a filled one at the centre (140-159, 90-109).
    board, tiled = marked("wm:1:ch/wmu:{square}"), marked("wm:1:re/wmu:{square}")
    for i in range(-7, 8):
        for j in range(-4, 5):
            left, top = 142 + 20 * i, 92 + 20 * j
            cell = np.s_[top:top + 16, left:left + 16]
            assert is_magenta(tiled[cell])
            assert is_magenta(board[cell]) == ((i + j) % 2 == 0), (i, j)


def test_chained_pipelines_place_their_own_watermarks(marked: Callable[[str], Pixels]) -> None:
    both = marked("wm:1:nowe/wmu:{square}/-/wm:1:soea/wmu:{cyan}")
    assert list(both[5, 5, :3]) == MAGENTA and list(both[-5, -5, :3]) == CYAN


def test_a_missing_watermark_is_a_404(server: AppServer, client: httpx.Client, marks: dict[str, str]) -> None:
    response = get(server, client, f"wm:1:ce/wmu:{b64(marks['missing'])}", marks["photo"])
    assert response.status_code == 404 and "Watermark" in response.text
    # Without wm, nothing is placed: the watermark is not even downloaded.
    assert get(server, client, f"wmu:{b64(marks['missing'])}", marks["photo"]).status_code == 200


@pytest.fixture(scope="module")
def tuned(start_server: Callable[..., AppServer], origin: Origin) -> AppServer:
    """No watermark cache; watermark URLs preprocessed like sources, and only /wm/ allowed."""
    return start_server(IMGPROXY_WATERMARKS_CACHE_SIZE="0", IMGPROXY_WATERMARK_PREPROCESS_URL="true",
                        IMGPROXY_BASE_URL=origin.url("/wm/"), IMGPROXY_ALLOWED_SOURCES=origin.url("/wm/"))


def test_a_watermark_outside_the_allowed_sources_is_a_404(tuned: AppServer, client: httpx.Client, origin: Origin,
                                                          marks: dict[str, str]) -> None:
    elsewhere = origin.add("/elsewhere/bar.png", png(40, 20, MAGENTA))
    response = get(tuned, client, f"wm:1:ce/wmu:{b64(elsewhere)}", marks["photo"])
    assert response.status_code == 404 and "Watermark" in response.text
    assert origin.count("/elsewhere/bar.png") == 0


@pytest.mark.parametrize("cached", [True, False])
def test_watermarks_are_cached(server: AppServer, tuned: AppServer, client: httpx.Client, origin: Origin,
                               marks: dict[str, str], cached: bool) -> None:
    path = f"/wm/cached-{cached}.png"
    url = origin.add(path, png(10, 10, MAGENTA))
    for busting in range(3):  # a new result each time, the same watermark
        response = get(server if cached else tuned, client, f"cb:{busting}/wm:1:ce/wmu:{b64(url)}", marks["photo"])
        assert response.status_code == 200
    assert origin.count(path) == (1 if cached else 3)


def test_watermark_url_preprocessing(tuned: AppServer, client: httpx.Client) -> None:
    # IMGPROXY_BASE_URL is put before the watermark's URL as before the source's.
    response = client.get(f"{tuned.base}/unsafe/rs:fit:300:200/wm:1:nowe/wmu:{b64('square.png')}/plain/coffee.jpg@png")
    assert list(pixels(response)[5, 5, :3]) == MAGENTA


@pytest.mark.parametrize(
    ("option", "status", "words"),
    [
        ("wmu:!!!", 404, "watermark_url"),
        ("wmt:***", 404, "watermark_text"),
        (f"wmt:{b64('x' * (MAX_WATERMARK_TEXT + 1))}", 404, "longer than"),
        ("wms:-1:0", 404, "watermark_size"),
        ("wms:1.5:0", 404, "watermark_size"),
        ("wms:1:2:3", 404, "watermark_size"),
        ("wmr:1.5", 404, "watermark_rotate"),
        ("wm_rot:", 404, "watermark_rotate"),
        ("wmr:1:2", 404, "watermark_rotate"),
        ("wmsh:-1", 404, "watermark_shadow"),
        ("wmsh:x", 404, "watermark_shadow"),
        ("wm:1:cb", 404, "watermark"),
        ("wm:1:nowe/wmt:" + b64("<b>unclosed"), 422, ""),
        ("wm:1:nowe/wmt:" + b64('<span size="128pt">' + "W\n" * 40 + "</span>"), 422, ""),
    ],
)
def test_refused_forms(server: AppServer, client: httpx.Client, marks: dict[str, str], option: str, status: int,
                       words: str) -> None:
    response = get(server, client, option, marks["photo"])
    assert response.status_code == status and words in response.text


@pytest.mark.parametrize(
    "option",
    ["wmu:", "wmt:", "wms:10", "wms::10", "wms:0:0", "wmr:-720", "wmr:+30", "wmsh:0", "wmsh:2.5",
     "wm:0.5:ch:-5:0.1", "wm:1:ch/wmt:" + b64("&lt;&#169;&gt;")],
)
def test_accepted_forms(server: AppServer, client: httpx.Client, marks: dict[str, str], option: str) -> None:
    assert get(server, client, option, marks["photo"]).status_code == 200


@pytest.fixture(scope="module")
def demo_server(start_server: Callable[..., AppServer]) -> AppServer:
    return start_server(IMGPROXY_LOCAL_FILESYSTEM_ROOT=str(DEMO), IMGPROXY_MAX_ANIMATION_FRAMES="3")


@pytest.mark.parametrize("spec", [s for s in PROCESSING_OPTIONS if s.name.startswith("watermark_")],
                         ids=lambda s: s.name)
def test_examples_work_on_the_demo_images(demo_server: AppServer, client: httpx.Client, spec: Option) -> None:
    plain = client.get(f"{demo_server.base}/unsafe/plain/local:///{spec.source}@png")
    response = client.get(f"{demo_server.base}/unsafe/{spec.example}/plain/local:///{spec.source}@png")
    assert response.status_code == 200, response.text
    assert response.content != plain.content  # the example does mark the image


def test_every_frame_of_an_animation_is_marked(demo_server: AppServer, client: httpx.Client) -> None:
    def frames(options: str) -> Pixels:
        response = client.get(f"{demo_server.base}/unsafe/rs:fit:200:200/{options}/plain/local:///iss634.gif@gif")
        assert response.status_code == 200, response.text
        img = pyvips.Image.new_from_buffer(response.content, "", n=-1).colourspace("srgb")
        assert img.get("n-pages") == 3
        flat = np.ndarray(buffer=img.write_to_memory(), dtype=np.uint8, shape=(img.height, img.width, img.bands))
        return flat.astype(int)[..., :3].reshape(3, img.height // 3, img.width, 3)

    plain = frames("cb:plain")
    marked = frames("wm:1:nowe/wmt:" + b64('<span foreground="#ff00ff" size="20000">wm</span>'))
    for before, after in zip(plain, marked, strict=True):
        assert np.abs(after[:20, :30] - before[:20, :30]).max() > 100  # the text on each frame
        assert np.abs(after[100:, 100:] - before[100:, 100:]).mean() < 2  # and nowhere else
