"""Choosing the quality an image is saved with: autoquality (dssim, size, ml) and max_bytes.

Every method searches integer qualities with as few saves as it can.  Between two measured
qualities the metric is interpolated in ``x = log(101 - quality)``, where both log(DSSIM) and
log(size) are close to straight lines, so one or two interpolation steps usually land next to
the answer; then one save on the other side proves it.  Each quality is saved at most once.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyvips

from imgproxy_py.formats import FORMATS, format_by_name
from imgproxy_py.imaging.vips import memory_copy
from imgproxy_py.optimize.config import AutoQualitySpec
from imgproxy_py.optimize.dssim import DssimMeter
from imgproxy_py.optimize.ml import Prediction, default_model_path, load_model, quality_to_x, x_to_quality

Encode = Callable[[pyvips.Image, int], bytes]

# Formats whose saver takes a quality; max_bytes works on them (imgproxy's list).
QUALITY_FORMATS = frozenset(spec.format.value for spec in FORMATS.values() if spec.quality)
# Formats autoquality works on (imgproxy Pro's list).  Others are saved at the given quality.
AUTOQUALITY_FORMATS = frozenset(spec.format.value for spec in FORMATS.values() if spec.autoquality)

# A typical photo's curve, log(DSSIM) = intercept + slope * x with x = log(101 - q): where the
# dssim search saves first, and how far it steps from there before a second save gives the
# image's own slope.  Medians over the photos of models/tools/train_autoquality.py.
TYPICAL_DSSIM_CURVES = {"jpeg": (-7.8, 1.13), "webp": (-8.08, 1.2), "avif": (-10.2, 1.71)}
DEFAULT_DSSIM_SLOPE = 1.2
# d log(size) / dx, likewise (the training script prints all of these as "typical curve").
TYPICAL_SIZE_SLOPES = {"jpeg": -0.86, "webp": -0.74, "avif": -1.12}
DEFAULT_SIZE_SLOPE = -0.8

# imgproxy stops lowering the quality for max_bytes at this quality.
MAX_BYTES_FLOOR_QUALITY = 10


@dataclass(frozen=True)
class EncodeResult:
    data: bytes
    quality: int
    encodes: int  # calls of the saver made for this result
    dssim: float | None  # measured DSSIM of ``data`` when autoquality measured it


class _Saver:
    """Calls the server's saver at most once per quality, checking the deadline before each call."""

    def __init__(self, image: pyvips.Image, encode: Encode, check_deadline: Callable[[], None]) -> None:
        self.image = image
        self.encode = encode
        self.check_deadline = check_deadline
        self.saved: dict[int, bytes] = {}
        self.count = 0

    def __call__(self, quality: int) -> bytes:
        data = self.saved.get(quality)
        if data is None:
            self.check_deadline()
            data = self.encode(self.image, quality)
            self.count += 1
            self.saved[quality] = data
        return data


def encode_with_quality_control(
    image: pyvips.Image,
    fmt: str,
    encode: Encode,
    *,
    quality: int,
    autoquality: AutoQualitySpec | None,
    max_bytes: int,
    max_resolution: int,
    check_deadline: Callable[[], None] = lambda: None,
    ml_model_path: Path | None = None,
    decode: Callable[[bytes], pyvips.Image] | None = None,
) -> EncodeResult:
    """Save ``image`` with ``encode``, choosing the quality by autoquality and then max_bytes.

    ``quality`` is used when autoquality is off or does not apply to ``fmt``.  Above
    ``max_resolution`` pixels (0: no limit) DSSIM is measured on a downscaled copy of both the
    processed image and each encoded result.  ``ml_model_path`` is the
    ``ml`` model (``OptimizeConfig.ml_model_path``); left out, it is looked up from
    IMGPROXY_MODELS_DIR and the repository's models folder.  ``decode`` reads a result back
    where libvips can't (formats written by an optional wheel).
    """
    name = _format_name(fmt)
    if name not in QUALITY_FORMATS:
        check_deadline()
        return EncodeResult(encode(image, quality), quality, 1, None)

    wants_autoquality = autoquality is not None and autoquality.enabled and name in AUTOQUALITY_FORMATS
    if wants_autoquality or max_bytes > 0:
        # Several saves of one pipeline: compute the pixels once.
        image = memory_copy(image)
    saver = _Saver(image, encode, check_deadline)

    measured: dict[int, float] = {}
    chosen = quality
    if wants_autoquality and autoquality is not None:
        if autoquality.method == "size":
            chosen = search_size(saver, autoquality, fmt=name)
        else:
            meter = DssimMeter(image, max_resolution, decode, check_deadline)

            def dssim_at(q: int) -> float:
                if q not in measured:
                    measured[q] = meter.measure(saver(q))
                return measured[q]

            model = None
            if autoquality.method == "ml":
                model_path = ml_model_path if ml_model_path is not None else default_model_path()
                model = load_model(model_path) if model_path is not None else None
            if model is not None and model.supports(name):
                prediction = model.predict(image, name, autoquality.target)
                chosen = search_ml(dssim_at, autoquality, prediction, fmt=name)
            else:
                # No model (or none for this format): imgproxy falls back to dssim too.
                chosen = search_dssim(dssim_at, autoquality, fmt=name)

    if max_bytes > 0:
        chosen = fit_max_bytes(saver, chosen, max_bytes)
    data = saver(chosen)
    return EncodeResult(data, chosen, saver.count, measured.get(chosen))


def _format_name(fmt: str) -> str:
    known = format_by_name(fmt)
    return known.value if known is not None else fmt.lower()


# ----------------------------------------------------------------------------------------------
# The boundary search shared by the dssim, size and ml methods.


def find_boundary(
    value_at: Callable[[int], float],
    threshold: float,
    low: int,
    high: int,
    *,
    accept_high: bool,
    prior_slope: float,
    start: int | None = None,
    known: Sequence[int] = (),
) -> int:
    """The quality at the edge of ``value_at(q) <= threshold`` within [low, high].

    ``value_at`` should be monotonic in quality.  With ``accept_high`` (the metric falls as
    quality rises, like DSSIM) the answer is the lowest accepted quality, or ``high`` when none is
    accepted; otherwise (the metric rises with quality, like size) the highest accepted one, or
    ``low``.  An answer is proven by a measured neighbour on the other side (or by being at the
    end of the range).  ``prior_slope`` is the expected d value / dx for extrapolating from a
    single measurement; ``start`` is where to measure first (default: the middle of the range in
    x); ``known`` lists qualities ``value_at`` has already measured and answers for free.
    """
    if low >= high:
        return low
    # Work in s, where the accepted qualities are the high ones: s = q, or s = -q.
    sign = 1 if accept_high else -1
    s_low, s_high = (low, high) if accept_high else (-high, -low)
    points: dict[int, float] = {}  # s -> value

    def probe(s: int) -> None:
        points[s] = value_at(sign * s)

    for quality in known:
        if low <= quality <= high:
            probe(sign * quality)
    if not points:
        if start is None:
            start = round(x_to_quality((quality_to_x(low) + quality_to_x(high)) / 2))
        probe(sign * min(max(start, low), high))
    widths: list[int] = []  # bracket widths after each probe, once both sides are known
    # Illinois rule: when probes keep landing on one side, the far end's distance from the
    # threshold is halved each time, so that interpolation stops creeping in by one quality.
    far_end_weight = 1.0
    last_side: bool | None = None
    while True:
        accepted = [s for s, value in points.items() if value <= threshold]
        best_ok = min(accepted) if accepted else None
        # Rejections above an acceptance are noise of a not quite monotonic metric: ignore them.
        rejected = [s for s, value in points.items()
                    if value > threshold and (best_ok is None or s < best_ok)]
        best_fail = max(rejected) if rejected else None
        if best_ok is not None and (best_ok == s_low or best_fail == best_ok - 1):
            return sign * best_ok
        if best_ok is None and best_fail == s_high:
            return sign * s_high
        lowest = s_low if best_fail is None else best_fail + 1
        highest = s_high if best_ok is None else best_ok - 1
        if best_ok is not None and best_fail is not None:
            widths.append(best_ok - best_fail)
            if len(widths) >= 3 and widths[-1] * 2 > widths[-3]:
                # Interpolation did not halve the bracket in two steps (a bent curve): bisect.
                estimate = (lowest + highest) / 2
            else:
                estimate = _interpolate(points, threshold, best_fail, best_ok, sign, prior_slope,
                                        fail_weight=far_end_weight if last_side else 1.0,
                                        ok_weight=far_end_weight if last_side is False else 1.0)
        else:
            estimate = _extrapolate(points, threshold, best_ok, sign, prior_slope)
        # Round towards the accepted side: the next save is then the likely answer itself.
        candidate = min(max(math.ceil(estimate - 1e-9), lowest), highest)
        probe(candidate)
        side = points[candidate] <= threshold
        far_end_weight = far_end_weight / 2 if side == last_side else 1.0
        last_side = side


def _interpolate(
    points: dict[int, float], threshold: float, fail: int, ok: int, sign: int, prior_slope: float, *,
    fail_weight: float, ok_weight: float,
) -> float:
    """Where (in s) the metric crosses ``threshold`` between the bracket's ends, linearly in x."""
    x_fail, x_ok = quality_to_x(sign * fail), quality_to_x(sign * ok)
    above = (points[fail] - threshold) * fail_weight
    below = (points[ok] - threshold) * ok_weight
    if not _slope_agrees((points[ok] - points[fail]) / (x_ok - x_fail), prior_slope) or above == below:
        return (fail + ok) / 2
    return _s_at_x(x_fail + (x_ok - x_fail) * above / (above - below), sign)


def _extrapolate(points: dict[int, float], threshold: float, best_ok: int | None, sign: int,
                 prior_slope: float) -> float:
    """With measurements on one side only: the two nearest the threshold, or one and the prior slope."""
    ordered = sorted(points, reverse=best_ok is not None)
    nearest = ordered[-1]
    slope = prior_slope
    if len(ordered) > 1:
        other = ordered[-2]
        measured = (points[other] - points[nearest]) / (quality_to_x(sign * other) - quality_to_x(sign * nearest))
        if _slope_agrees(measured, prior_slope):
            slope = measured
    return _s_at_x(quality_to_x(sign * nearest) + (threshold - points[nearest]) / slope, sign)


def _slope_agrees(slope: float, prior_slope: float) -> bool:
    """A measured slope is usable when it has the expected sign and is not nearly flat."""
    return math.isfinite(slope) and slope * prior_slope > 0 and abs(slope) > abs(prior_slope) * 0.05


def _s_at_x(x: float, sign: int) -> float:
    # x = log(101 - q) covers qualities up to 101; keep the estimate finite for extrapolations.
    x = min(max(x, math.log(0.5)), math.log(101.0))
    return sign * x_to_quality(x)


# ----------------------------------------------------------------------------------------------
# The methods.


def search_dssim(
    dssim_at: Callable[[int], float], spec: AutoQualitySpec, *, fmt: str = "",
    known: Sequence[int] = (),
) -> int:
    """The lowest quality whose DSSIM is at most target + allowed_error.

    If even the minimal quality is that good, the minimal quality; if the maximal one is not,
    the maximal one.  The first save is where a typical photo of ``fmt`` would meet the target
    (the middle of the range for other formats), unless ``known`` qualities are measured already.
    """
    threshold = math.log(max(spec.target + spec.allowed_error, 1e-9))
    typical = TYPICAL_DSSIM_CURVES.get(fmt)
    start = None
    slope = DEFAULT_DSSIM_SLOPE
    if typical is not None:
        intercept, slope = typical
        start = round(x_to_quality(min(max((threshold - intercept) / slope, 0.0), math.log(100.0))))
    return find_boundary(
        lambda q: math.log(max(dssim_at(q), 1e-9)), threshold, spec.min_quality, spec.max_quality,
        accept_high=True, prior_slope=slope, start=start, known=known,
    )


def search_size(saver: Callable[[int], bytes], spec: AutoQualitySpec, *, fmt: str = "") -> int:
    """The highest quality whose result is at most ``target`` bytes (the minimal quality if none)."""
    threshold = math.log(max(spec.target, 1.0))
    return find_boundary(
        lambda q: math.log(max(len(saver(q)), 1)), threshold, spec.min_quality, spec.max_quality,
        accept_high=False, prior_slope=TYPICAL_SIZE_SLOPES.get(fmt, DEFAULT_SIZE_SLOPE),
    )


def search_ml(
    dssim_at: Callable[[int], float], spec: AutoQualitySpec, prediction: Prediction, *, fmt: str = "",
) -> int:
    """Start where the model expects the target and correct once with its slope; else as dssim.

    Done as soon as a measured DSSIM lands within target +- allowed_error (or cannot get closer
    within the allowed qualities); after two misses the dssim search takes over, knowing both.
    """
    low, high = spec.min_quality, spec.max_quality
    log_target = math.log(max(spec.target, 1e-9))

    def clamp(q: float) -> int:
        return min(max(round(q), low), high)

    def settled(q: int, value: float) -> bool:
        if abs(value - spec.target) <= spec.allowed_error:
            return True
        # Better than wanted at the lowest allowed quality, or worse at the highest: nothing to gain.
        too_good = value < spec.target - spec.allowed_error
        return (too_good and q == low) or (not too_good and q == high)

    first = clamp(prediction.quality)
    first_value = dssim_at(first)
    if settled(first, first_value):
        return first
    step_x = quality_to_x(first) + (log_target - math.log(max(first_value, 1e-9))) / prediction.slope
    second = clamp(x_to_quality(min(max(step_x, 0.0), math.log(100.0))))
    if second == first:
        second = clamp(first + (1 if first_value > spec.target else -1))
    second_value = dssim_at(second)
    if settled(second, second_value):
        return second
    return search_dssim(dssim_at, spec, fmt=fmt, known=(first, second))


def fit_max_bytes(saver: Callable[[int], bytes], quality: int, max_bytes: int) -> int:
    """imgproxy's max_bytes loop: lower the quality until the result fits or reaches 10."""
    while True:
        size = len(saver(quality))
        if size <= max_bytes or quality <= MAX_BYTES_FLOOR_QUALITY:
            return quality
        ratio = size / max_bytes
        if ratio > 3:
            scaled = _round_half_away(quality * 0.25)
        elif ratio > 1.5:
            scaled = _round_half_away(quality * 0.5)
        else:
            scaled = _round_half_away(quality * 0.75)
        # Always lower it, even when scaling rounds back to the same number.
        quality = max(1, min(quality - 1, scaled))


def _round_half_away(value: float) -> int:
    # Go's math.Round, which imgproxy's imath.Scale uses (Python's round() rounds half to even).
    return math.floor(value + 0.5)
