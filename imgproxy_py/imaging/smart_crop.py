"""imgproxy Pro's advanced smart crop (``IMGPROXY_SMART_CROP_ADVANCED``): a feature map of the
image, then the crop window by ``IMGPROXY_SMART_CROP_ADVANCED_MODE``.

libvips' attention (the plain ``g:sm``) finds the single most interesting point of a blurred
edge, skin and saturation map and centres the window on it, whatever the window's size; on a
portrait cut square it can pick the bright helmet under the arm rather than the face, and on a
wide crop one eye of a cat. Here the map scores how much each place differs from its
surroundings (centre-surround colour contrast in Lab at two scales, so fine even texture such as
wood grain or fur scores low and objects score high), plus skin tones, and the window is chosen
knowing its size:

- ``max_score_area`` (imgproxy's default): the window with the highest total score (a
  summed-area table over the map makes every position one subtraction), a slight pull to the
  centre breaking near ties.
- ``center_of_mass``: the window centred on the map's centre of mass (scores squared, so the
  strongest features lead), kept inside the image.

The map is computed on a copy at most ``MAP_SIZE`` pixels on its longer side (a few ms on any
image), so both modes cost about what libvips' attention does.
"""

from __future__ import annotations

from enum import StrEnum

import numpy as np
import numpy.typing as npt
import pyvips
from scipy import ndimage

from imgproxy_py.envreader import EnvReader

MAP_SIZE = 128
# Centre-surround pairs of Gaussian sigmas in map pixels: a small bright detail (an eye, a
# badge) against its neighbourhood, and a larger object against its setting.
CENTER_SURROUND = ((1.0, 4.0), (2.0, 8.0))
SKIN_WEIGHT = 1.0
CENTER_PULL = 0.05  # at most 5% off a window's score at the far corner

Scores = npt.NDArray[np.float32]


class SmartCropMode(StrEnum):
    MAX_SCORE_AREA = "max_score_area"
    CENTER_OF_MASS = "center_of_mass"


def _parse_mode(value: str) -> SmartCropMode:
    try:
        return SmartCropMode(value.lower())
    except ValueError:
        raise ValueError(f"{value!r} is not one of {', '.join(m.value for m in SmartCropMode)}") from None


def read_smart_crop_mode(r: EnvReader) -> SmartCropMode | None:
    """``IMGPROXY_SMART_CROP_ADVANCED_MODE`` when ``IMGPROXY_SMART_CROP_ADVANCED`` is on, else None
    (libvips' attention); both are read either way, so a wrong mode is reported even when off."""
    mode = r.parsed("IMGPROXY_SMART_CROP_ADVANCED_MODE", SmartCropMode.MAX_SCORE_AREA, _parse_mode)
    return mode if r.boolean("IMGPROXY_SMART_CROP_ADVANCED", False) else None


def _normalized(values: Scores) -> Scores:
    """0..1, the 99th percentile as 1: a few extreme pixels do not flatten the rest."""
    flat = values.ravel()
    top = float(np.partition(flat, int(0.99 * (flat.size - 1)))[int(0.99 * (flat.size - 1))])
    return np.clip(values / top, 0.0, 1.0) if top > 0 else np.zeros_like(values)


def _skin(rgb: Scores) -> Scores:
    """How close each pixel's colour is to a skin tone: 1 on the tone, 0 at a distance of 0.2
    between the unit colour vectors (neutral grey is 0.23 away) or outside mid brightness."""
    tone = np.array([0.78, 0.57, 0.44], dtype=np.float32)
    tone /= np.linalg.norm(tone)
    length = np.sqrt((rgb * rgb).sum(axis=2)) + 1e-6
    distance = np.sqrt(np.maximum(2.0 - 2.0 * ((rgb / length[..., None]) @ tone), 0.0))
    lightness = rgb @ np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)
    skin: Scores = (np.clip((0.2 - distance) / 0.2, 0, 1) * np.clip((lightness - 0.2) / 0.2, 0, 1)
                    * np.clip((0.95 - lightness) / 0.1, 0, 1)).astype(np.float32)
    return skin


def _picture(img: pyvips.Image) -> pyvips.Image:
    """An 8-bit sRGB copy at most MAP_SIZE pixels on its longer side."""
    if img.hasalpha():
        img = img.flatten(background=[255] * (img.bands - 1))
    if img.interpretation not in ("srgb", "b-w") or img.format != "uchar":
        img = img.colourspace("srgb")
    if img.format != "uchar":
        img = img.cast("uchar")
    if img.bands < 3:
        img = img[0].bandjoin([img[0], img[0]])
    img = img.extract_band(0, n=3).copy(interpretation="srgb")
    scale = MAP_SIZE / max(img.width, img.height)
    return img.resize(scale) if scale < 1.0 else img


def feature_map(img: pyvips.Image) -> tuple[Scores, tuple[float, float]]:
    """Scores per map pixel (0..about 3) and the map's horizontal and vertical scales relative to
    ``img`` (they differ where a side rounds to a few pixels: a long thin image)."""
    small = _picture(img).copy_memory()  # read once, however many maps use it
    scale = (small.width / img.width, small.height / img.height)
    lab: Scores = small.colourspace("lab").cast("float").numpy()
    # scipy's blur over the two image axes: on a map this small libvips' set-up per operation costs
    # more than the blur, and scikit-image's wrapper (the same filter, the same float32 pixels) 1.3 ms
    # more than scipy over the four blurs.
    blurred: dict[float, Scores] = {
        sigma: ndimage.gaussian_filter(lab, sigma=sigma, axes=(0, 1), truncate=3.0, mode="nearest")
        for pair in CENTER_SURROUND for sigma in pair}
    contrast = sum((np.sqrt(((blurred[inner] - blurred[outer]) ** 2).sum(axis=2)) for inner, outer in CENTER_SURROUND),
                   start=np.zeros((small.height, small.width), dtype=np.float32))
    skin = _skin(small.numpy().astype(np.float32) / 255.0)  # the uchar pixels already in memory
    # What most of the picture has (grain, fur, sky) is the setting, not the subject: only contrast
    # above the median counts.
    contrast = np.maximum(contrast - float(np.median(contrast)), 0.0)
    return (_normalized(contrast) + SKIN_WEIGHT * skin).astype(np.float32), scale


def _window_sums(scores: Scores, width: int, height: int) -> Scores:
    """The total score of every ``width`` x ``height`` window, indexed by its top-left corner."""
    table = np.zeros((scores.shape[0] + 1, scores.shape[1] + 1), dtype=np.float64)
    table[1:, 1:] = scores.cumsum(axis=0, dtype=np.float64).cumsum(axis=1)
    sums = table[height:, width:] - table[:-height, width:] - table[height:, :-width] + table[:-height, :-width]
    return sums.astype(np.float32)


def _max_score_area(scores: Scores, width: int, height: int) -> tuple[int, int]:
    """Top-left of the map window with the highest total score."""
    sums = _window_sums(scores, width, height)
    rows, cols = sums.shape
    ys, xs = np.mgrid[0:rows, 0:cols].astype(np.float32)
    # Distance of each window's centre from the map's centre, 0 at the centre, ~0.7 at a corner.
    distance = np.hypot((ys - (rows - 1) / 2) / scores.shape[0], (xs - (cols - 1) / 2) / scores.shape[1])
    ranked = sums * (1 - CENTER_PULL * distance) - 1e-6 * distance  # a flat map: the centre
    top, left = np.unravel_index(int(np.argmax(ranked)), ranked.shape)
    return int(left), int(top)


def _center_of_mass(scores: Scores) -> tuple[float, float] | None:
    """The map's centre of mass in map pixels (x, y), None for a flat map."""
    weights = scores.astype(np.float64) ** 2
    total = float(weights.sum())
    if total <= 0:
        return None
    ys, xs = np.mgrid[0:scores.shape[0], 0:scores.shape[1]]
    return float((weights * xs).sum()) / total + 0.5, float((weights * ys).sum()) / total + 0.5


def smart_window(img: pyvips.Image, width: int, height: int, mode: SmartCropMode) -> tuple[int, int]:
    """Top-left of the ``width`` x ``height`` window to keep of ``img`` (pixels, inside it)."""
    width, height = min(width, img.width), min(height, img.height)
    if width >= img.width and height >= img.height:
        return 0, 0
    scores, (scale_x, scale_y) = feature_map(img)
    if mode is SmartCropMode.MAX_SCORE_AREA:
        map_w = min(scores.shape[1], max(1, round(width * scale_x)))
        map_h = min(scores.shape[0], max(1, round(height * scale_y)))
        map_left, map_top = _max_score_area(scores, map_w, map_h)
        # The middle of the map window, so its rounding moves the window by under a map pixel.
        center = ((map_left + map_w / 2) / scale_x, (map_top + map_h / 2) / scale_y)
    else:
        mass = _center_of_mass(scores)
        center = (mass[0] / scale_x, mass[1] / scale_y) if mass else (img.width / 2, img.height / 2)
    left = round(center[0] - width / 2)
    top = round(center[1] - height / 2)
    return min(max(left, 0), img.width - width), min(max(top, 0), img.height - height)
