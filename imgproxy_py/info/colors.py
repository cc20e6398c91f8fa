"""Colours of the picture: the average, an RGBA palette, and Vibrant-style dominant colours."""

from __future__ import annotations

import colorsys
from typing import Any

import numpy as np

Rgba = np.ndarray[Any, np.dtype[np.uint8]]
QUANTIZE_SIDE = 160  # palettes and dominant colours: a tenth of the shared pixels is as telling (Vibrant samples too)


def average(rgba: Rgba, ignore_transparent: bool) -> dict[str, int]:
    pixels = rgba.reshape(-1, 4).astype(np.float64)
    if ignore_transparent:
        visible = pixels[pixels[:, 3] > 0]
        pixels = visible if len(visible) else pixels
    mean = pixels.mean(axis=0) if len(pixels) else np.zeros(4)
    r, g, b, a = (round(float(v)) for v in mean)
    return {"R": r, "G": g, "B": b, "A": a}


def palette(rgba: Rgba, colors: int) -> list[dict[str, int]]:
    """At most ``colors`` RGBA colours (Pillow's quantiser), the most used first."""
    from PIL import Image  # lazily: Pillow comes with imagehash, only /info needs it here

    opaque = bool((rgba[..., 3] == 255).all())
    image = Image.fromarray(np.ascontiguousarray(rgba[..., :3] if opaque else rgba),
                            "RGB" if opaque else "RGBA")
    method = Image.Quantize.MEDIANCUT if opaque else Image.Quantize.FASTOCTREE
    quantized = image.quantize(colors=colors, method=method)
    counts = sorted(quantized.getcolors(colors) or [], key=lambda c: -c[0])
    entries = quantized.getpalette("RGBA") or []
    out = []
    for _, index in counts:
        at = int(index) * 4  # type: ignore[call-overload]  # a palette image's colours are indices
        r, g, b, a = entries[at:at + 4]
        out.append({"R": r, "G": g, "B": b, "A": a if not opaque else 255})
    return out


# Vibrant's targets (node-vibrant, Android's Palette): (name, luma min/target/max, saturation min/target/max).
_TARGETS = (
    ("vibrant", (0.3, 0.5, 0.7), (0.35, 1.0, 1.0)),
    ("light_vibrant", (0.55, 0.74, 1.0), (0.35, 1.0, 1.0)),
    ("dark_vibrant", (0.0, 0.26, 0.45), (0.35, 1.0, 1.0)),
    ("muted", (0.3, 0.5, 0.7), (0.0, 0.3, 0.4)),
    ("light_muted", (0.55, 0.74, 1.0), (0.0, 0.3, 0.4)),
    ("dark_muted", (0.0, 0.26, 0.45), (0.0, 0.3, 0.4)),
)
_WEIGHT_SATURATION, _WEIGHT_LUMA, _WEIGHT_POPULATION = 3.0, 6.5, 0.5


def _hsl(rgb: tuple[int, int, int]) -> tuple[float, float, float]:
    h, lightness, s = colorsys.rgb_to_hls(*(c / 255 for c in rgb))
    return h, s, lightness


def _rgb(h: float, s: float, lightness: float) -> dict[str, int]:
    r, g, b = colorsys.hls_to_rgb(h, lightness, s)
    return {"R": round(r * 255), "G": round(g * 255), "B": round(b * 255)}


def dominant_colors(rgba: Rgba, build_missed: bool) -> dict[str, dict[str, int]]:
    """Vibrant, light/dark vibrant, muted, light/dark muted, chosen among 64 quantised swatches."""
    visible = rgba.reshape(-1, 4)
    visible = visible[visible[:, 3] >= 125]
    if not len(visible):
        return {}
    swatches = [(count, (c["R"], c["G"], c["B"])) for count, c in _swatches(visible)]
    max_population = max(count for count, _ in swatches)
    chosen: dict[str, tuple[int, int, int]] = {}
    for name, luma, saturation in _TARGETS:
        best, best_score = None, -1.0
        for count, rgb in swatches:
            _, s, lightness = _hsl(rgb)
            if not (saturation[0] <= s <= saturation[2] and luma[0] <= lightness <= luma[2]):
                continue
            if rgb in chosen.values():
                continue
            score = (_WEIGHT_SATURATION * (1 - abs(s - saturation[1])) + _WEIGHT_LUMA * (1 - abs(lightness - luma[1]))
                     + _WEIGHT_POPULATION * count / max_population)
            if score > best_score:
                best, best_score = rgb, score
        if best is not None:
            chosen[name] = best
    out = {name: {"R": rgb[0], "G": rgb[1], "B": rgb[2]} for name, rgb in chosen.items()}
    if build_missed:
        _build_missed(out, chosen)
    return dict(sorted(out.items()))


def _swatches(pixels: Rgba) -> list[tuple[int, dict[str, int]]]:
    from PIL import Image

    image = Image.fromarray(np.ascontiguousarray(pixels[:, :3].reshape(1, -1, 3)), "RGB")
    quantized = image.quantize(colors=64, method=Image.Quantize.MEDIANCUT)
    entries = quantized.getpalette("RGB") or []
    out = []
    for count, index in quantized.getcolors(64) or []:
        at = int(index) * 3  # type: ignore[arg-type]  # a palette image's colours are indices
        out.append((count, {"R": entries[at], "G": entries[at + 1], "B": entries[at + 2]}))
    return out


def _build_missed(out: dict[str, dict[str, int]], chosen: dict[str, tuple[int, int, int]]) -> None:
    """A missing colour is made from a found one at the target's luma (node-vibrant's rule for its
    siblings); when its whole group is missing, from the other group's colour of the same luma,
    at the target's saturation."""
    targets = {name: (luma[1], saturation[1]) for name, luma, saturation in _TARGETS}
    for name, (luma, saturation) in targets.items():
        if name in out:
            continue
        group, other = ("vibrant", "muted") if name.endswith("vibrant") else ("muted", "vibrant")
        prefix = name[:-len(group)]
        candidates = [f"{p}{group}" for p in ("", "dark_", "light_") if f"{p}{group}" != name]
        same_group = next((chosen[c] for c in candidates if c in chosen), None)
        if same_group is not None:
            h, s, _ = _hsl(same_group)
            out[name] = _rgb(h, s, luma)
            continue
        across = next((chosen[c] for c in (f"{prefix}{other}", other, f"dark_{other}", f"light_{other}")
                       if c in chosen), None)
        if across is not None:
            h, _, _ = _hsl(across)
            out[name] = _rgb(h, saturation, luma)
