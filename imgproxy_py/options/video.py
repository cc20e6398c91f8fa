"""Which picture of a video (or RAW) source is processed."""

from __future__ import annotations

from imgproxy_py.options.delivery_args import (
    ANIMATION_GRAMMAR,
    TILE_GRAMMAR,
    apply_video_animation,
    apply_video_tile,
)
from imgproxy_py.options.grammar import Arg
from imgproxy_py.options.output import output_option
from imgproxy_py.options.primitives import BOOL, NON_NEGATIVE_FLOAT, NON_NEGATIVE_INT
from imgproxy_py.options.registry import Family, Option, Scope

F = Family.VIDEO
VIDEO = "bikes.mp4"  # the demo video the video options' README examples run on

OPTIONS = (
    output_option("video_thumbnail_second", ("vts",), F, Arg("second", NON_NEGATIVE_FLOAT), "video_second",
                  "The second of the video to take the picture from (clamped to the duration).",
                  "vts:3.5", VIDEO),
    output_option("video_thumbnail_keyframes", ("vtk",), F, Arg("keyframes", BOOL), "video_keyframes",
                  "Take the keyframe at or before that second (faster).", "vts:3.5/vtk:1", VIDEO),
    output_option("video_frame", ("vf",), F, Arg("frame", NON_NEGATIVE_INT), "video_frame",
                  "The exact frame, from 0 (`422` when out of range).", "vf:120", VIDEO),
    output_option("video_thumbnail_best", ("vtb",), F, Arg("best", BOOL), "video_best",
                  "The best frame: sharp, well exposed, with faces when there are some.", "vtb:1", VIDEO),
    Option("video_thumbnail_tile", ("vtt",), F, TILE_GRAMMAR, apply_video_tile,
           "A sprite of `columns` x `rows` frames, `step` seconds apart from `vts` (negative: the duration "
           "shared out), each fitted (or with `fill`, filled at the focus point) to the tile size; "
           "`extend_tile` pads tiles to it in black, `trim` drops tiles past the end; 0 as `step`: off.",
           "vtt:2:4:3:160:90:1", Scope.OUTPUT, VIDEO),
    Option("video_thumbnail_animation", ("vta",), F, ANIMATION_GRAMMAR, apply_video_animation,
           "An animation of `frames` frames, `step` seconds apart from `vts` (negative: the duration shared "
           "out), shown `delay` ms each, sized as `vtt`'s tiles; `trim` drops frames past the end.",
           "vta:1:200:10:320:180/f:webp", Scope.OUTPUT, VIDEO),
    output_option("representative_face", ("rf",), F, Arg("representative_face", BOOL), "representative_face",
                  "The sharpest of the biggest, surest faces of a photo or video.", "rf:1/rs:fill:320:320",
                  "astronaut.jpg"),
)
