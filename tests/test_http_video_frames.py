"""Video sprites (video_thumbnail_tile) and animations (video_thumbnail_animation) through the
real server, on a real video (bikes.mp4: 640x272, 25 fps, 10 s)."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
import pyvips

from imgproxy_py.media.video_tiles import frame_times
from imgproxy_py.options.values_delivery import VideoFrames
from tests.servers import AppServer

BIKES = "local:///media/bikes.mp4"


@pytest.fixture(scope="module")
def video(start_server: Callable[..., AppServer]) -> AppServer:
    return start_server(IMGPROXY_ENABLE_VIDEO_THUMBNAILS="true")


def get(client: httpx.Client, server: AppServer, options: str) -> httpx.Response:
    return client.get(f"{server.base}/unsafe/{options}/plain/{BIKES}")


def image(response: httpx.Response) -> pyvips.Image:
    """The result, every frame of it when it is animated."""
    assert response.status_code == 200, response.text
    animated = response.headers["content-type"] in ("image/gif", "image/webp")
    return pyvips.Image.new_from_buffer(response.content, "", **({"n": -1} if animated else {}))


def mean_of(img: pyvips.Image, left: int, top: int, width: int, height: int) -> float:
    return float(img.crop(left, top, width, height).avg())


def test_tile_2x2_of_64px_tiles_is_128x128(video: AppServer, client: httpx.Client) -> None:
    extended = image(get(client, video, "vtt:2:2:2:64:64:1/f:png"))
    assert (extended.width, extended.height) == (128, 128)
    # 640x272 fitted into 64x64 is 64x27, centred on black: the bands above and below are black.
    assert mean_of(extended, 0, 0, 128, 18) < 1.0 and mean_of(extended, 0, 20, 64, 24) > 20
    filled = image(get(client, video, "vtt:2:2:2:64:64:0:0:1/f:png"))
    assert (filled.width, filled.height) == (128, 128)
    assert min(mean_of(filled, x, y, 64, 64) for x in (0, 64) for y in (0, 64)) > 20  # no black anywhere
    fitted = image(get(client, video, "vtt:2:2:2:64:64/f:png"))
    assert (fitted.width, fitted.height) == (128, 54)  # tiles as big as the fitted frames


def test_tiles_are_different_frames(video: AppServer, client: httpx.Client) -> None:
    sprite = image(get(client, video, "vts:0/vtt:3:2:1:160:0/f:png"))
    assert (sprite.width, sprite.height) == (320, 68)
    first = image(get(client, video, "vts:0/rs:fit:160:0/f:png"))
    fourth = image(get(client, video, "vts:3/rs:fit:160:0/f:png"))
    left, right = sprite.crop(0, 0, 160, 68), sprite.crop(160, 0, 160, 68)
    assert (left - first).abs().avg() < 3 and (right - fourth).abs().avg() < 3
    assert (left - right).abs().avg() > 5


def test_trim_and_the_end_of_the_video(video: AppServer, client: httpx.Client) -> None:
    # From second 6, 2 s apart: 6, 8, 10 are in the video, 12 is not.
    black = image(get(client, video, "vts:6/vtt:2:4:1:64:0/f:png"))
    assert (black.width, black.height) == (256, 27)
    assert mean_of(black, 192, 0, 64, 27) < 1.0 and mean_of(black, 128, 0, 64, 27) > 20
    trimmed = image(get(client, video, "vts:6/vtt:2:4:1:64:0:0:1/f:png"))
    assert (trimmed.width, trimmed.height) == (192, 27)


def test_negative_step_shares_out_the_duration() -> None:
    frames = VideoFrames(-1, 4, 1, 64, 64)
    assert frame_times(frames, 2.0, 10.0) == [2.0, 4.0, 6.0, 8.0]
    assert frame_times(VideoFrames(3, 4, 1, 64, 64), 2.0, 10.0) == [2.0, 5.0, 8.0, None]


def test_animation_is_animated(video: AppServer, client: httpx.Client) -> None:
    gif = image(get(client, video, "vta:1:150:4:96:96:1/f:gif"))
    assert gif.get("n-pages") == 4 and gif.get("page-height") == 96 and gif.width == 96
    assert list(gif.get("delay")) == [150] * 4
    webp = image(get(client, video, "vta:-1:100:3:64:0/f:webp"))
    assert webp.get("n-pages") == 3 and webp.width == 64
    still = image(get(client, video, "vta:1:150:4:96:96:1/f:jpg"))  # a still format: the first frame
    assert (still.width, still.height) == (96, 96)


def test_tile_then_resize(video: AppServer, client: httpx.Client) -> None:
    resized = image(get(client, video, "vtt:2:2:2:64:64:1/rs:fit:64:64/f:png"))
    assert (resized.width, resized.height) == (64, 64)


def test_tile_auto_keyframes(video: AppServer, start_server: Callable[..., AppServer], client: httpx.Client) -> None:
    """bikes.mp4 has 6 keyframes in 10 s (0, 1.2, 3.04, 5.48, 7.48, 9.68): 1.67 s apart on average."""
    auto = start_server(IMGPROXY_ENABLE_VIDEO_THUMBNAILS="true", IMGPROXY_VIDEO_THUMBNAIL_TILE_AUTO_KEYFRAMES="true")
    long_step, short_step = "vts:2/vtt:3:2:1:96:0/f:png", "vts:2/vtt:1:2:1:96:0/f:png"
    exact, keyframes = image(get(client, video, long_step)), image(get(client, video, f"vtk:1/{long_step}"))
    assert (exact - keyframes).abs().avg() > 5  # 2 s and 5 s are not keyframes
    assert (image(get(client, auto, long_step)) - keyframes).abs().max() == 0  # 3 s apart: keyframes
    short = image(get(client, video, short_step))
    assert (image(get(client, auto, short_step)) - short).abs().max() == 0  # 1 s apart: exact frames


@pytest.mark.parametrize(("options", "cells"), [
    # 60 frames of 1920x816 against the default limits (50 MP in all, one animation frame's worth).
    ("vta:0.1:100:60:1920:0/f:webp", "60 frames of 1920x816"),
    # A 10x10 sprite of 1920x816 cells: 157 MP of one still picture.
    ("vtt:0.1:10:10:1920:0/f:png", "19200x8160"),
])
def test_a_picture_past_the_limits_is_refused_at_its_first_frame(
        video: AppServer, client: httpx.Client, monkeypatch: pytest.MonkeyPatch, options: str, cells: str) -> None:
    """The size of a sprite or an animation is known once its first frame is scaled: past the
    resolution limits it is refused then (422), not after every frame was decoded (the animation
    took 3.4 s and 600 MB more before)."""
    from imgproxy_py.media.video import VideoReader

    decoded: list[float] = []
    frame_at_time = VideoReader.frame_at_time

    def counted(self: VideoReader, second: float, **kwargs: bool) -> object:
        decoded.append(second)
        return frame_at_time(self, second, **kwargs)

    monkeypatch.setattr(VideoReader, "frame_at_time", counted)
    response = get(client, video, options)
    assert response.status_code == 422, cells
    assert len(decoded) == 1
    # Within the limits the same frames are all decoded and joined.
    decoded.clear()
    assert image(get(client, video, options.replace(":1920:", ":64:"))).width > 0
    assert len(decoded) == (60 if options.startswith("vta") else 91)  # the sprite's last 9 are past the end
