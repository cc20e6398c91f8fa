"""The security options of a request laid over the server's limits (imgproxy's security
checker reads each limit from the request's options first, then from its settings)."""

from __future__ import annotations

import dataclasses
from typing import TypeVar

from imgproxy_py.imaging.codecs.load import Limits
from imgproxy_py.imaging.context import ProcessingSettings, result_resolution_limit
from imgproxy_py.options.values_delivery import SecurityOverrides

T = TypeVar("T")


def _pick(override: T | None, setting: T) -> T:
    return setting if override is None else override


def request_limits(limits: Limits, settings: ProcessingSettings,
                   overrides: SecurityOverrides) -> tuple[Limits, ProcessingSettings]:
    """The decoder's limits and the steps' settings for one request."""
    if not overrides.given:
        return limits, settings
    resolution = _pick(overrides.max_src_resolution, limits.max_resolution)
    new_limits = Limits(
        max_resolution=resolution,
        max_frames=_pick(overrides.max_animation_frames, limits.max_frames),
        max_frame_resolution=_pick(overrides.max_animation_frame_resolution, limits.max_frame_resolution),
    )
    new_settings = dataclasses.replace(
        settings,
        max_result_dimension=_pick(overrides.max_result_dimension, settings.max_result_dimension),
        max_src_resolution=resolution,
        # A larger source allowed must still be able to come out (see result_resolution_limit).
        max_result_resolution=max(settings.max_result_resolution, result_resolution_limit(resolution))
        if settings.max_result_resolution else 0,
    )
    return new_limits, new_settings
