"""``Options``: the processing options of an image URL, a typed method per option."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Literal, cast

from imgproxy_py.url.arguments import (
    ARG_RE,
    COMPASS,
    EXTENSION_RE,
    RESIZING_TYPES,
    WATERMARK_POSITIONS,
    CompassGravity,
    ResizingType,
    WatermarkPosition,
    b64,
    choice,
    fmt_bool,
    fmt_num,
    fmt_str,
    hex_color,
    int_arg,
    non_negative,
    opt_bool,
    opt_num,
    positive,
    unit,
)
from imgproxy_py.url.chain import OptionChain
from imgproxy_py.url.gravity import Gravity, GravityLike, extend_args, to_gravity
from imgproxy_py.url.options_color import ColorMethods
from imgproxy_py.url.options_delivery import DeliveryMethods
from imgproxy_py.url.options_encoding import EncodingMethods
from imgproxy_py.url.options_formats import FormatMethods
from imgproxy_py.url.options_sharpness import SharpnessMethods
from imgproxy_py.url.options_watermarks import WatermarkMethods


class Options(ColorMethods, SharpnessMethods, WatermarkMethods, EncodingMethods, DeliveryMethods, FormatMethods,
              OptionChain):
    """Processing options, immutable: every method returns a new object.

    Methods of the newer option families live in the ``options_*`` mixins beside this module.

    >>> base = Options().resize("fill", 300, 200).gravity("sm")
    >>> str(base.quality(80))
    'rs:fill:300:200/g:sm/q:80'
    >>> str(base.then().trim(10))
    'rs:fill:300:200/g:sm/-/t:10'
    """

    def then(self) -> Options:
        """Start a chained pipeline (a ``-`` segment): later options apply to its result."""
        if not self.pipelines[-1]:
            raise ValueError("then() needs at least one option in the current pipeline")
        return Options((*self.pipelines, ()))

    # --- size -------------------------------------------------------------------
    def resize(self, resizing_type: ResizingType = "fit", width: int = 0, height: int = 0,
               enlarge: bool | None = None, extend: bool | None = None,
               extend_gravity: GravityLike | None = None) -> Options:
        """``rs:%type:%width:%height:%enlarge:%extend``: the resize meta-option."""
        choice(resizing_type, RESIZING_TYPES, "resizing type")
        return self._push("rs", "resize", resizing_type, int_arg(width, "width"), int_arg(height, "height"),
                          opt_bool(enlarge), *extend_args(extend, extend_gravity))

    def size(self, width: int = 0, height: int = 0, enlarge: bool | None = None,
             extend: bool | None = None, extend_gravity: GravityLike | None = None) -> Options:
        """``s:%width:%height:%enlarge:%extend``: the size meta-option."""
        return self._push("s", "size", int_arg(width, "width"), int_arg(height, "height"),
                          opt_bool(enlarge), *extend_args(extend, extend_gravity))

    def resizing_type(self, resizing_type: ResizingType) -> Options:
        """``rt:%type``: ``fit``, ``fill``, ``fill-down``, ``force`` or ``auto``."""
        return self._push("rt", "resizing_type", choice(resizing_type, RESIZING_TYPES, "resizing type"))

    def width(self, width: int) -> Options:
        """``w:%width`` (0: from the height and the aspect ratio)."""
        return self._push("w", "width", int_arg(width, "width"))

    def height(self, height: int) -> Options:
        """``h:%height`` (0: from the width and the aspect ratio)."""
        return self._push("h", "height", int_arg(height, "height"))

    def min_width(self, width: int) -> Options:
        """``mw:%width``."""
        return self._push("mw", "min-width", int_arg(width, "min width"))

    def min_height(self, height: int) -> Options:
        """``mh:%height``."""
        return self._push("mh", "min-height", int_arg(height, "min height"))

    def zoom(self, x: float, y: float | None = None) -> Options:
        """``z:%zoom_x_y`` or ``z:%zoom_x:%zoom_y``."""
        args = [positive(x, "zoom")]
        if y is not None:
            args.append(positive(y, "zoom y"))
        return self._push("z", "zoom", *args)

    def dpr(self, dpr: float) -> Options:
        """``dpr:%dpr``: multiply dimensions (and offsets, paddings) for HiDPI screens."""
        return self._push("dpr", "dpr", positive(dpr, "dpr"))

    def enlarge(self, enabled: bool = True) -> Options:
        """``el:%bool``: allow making images larger than the source."""
        return self._push("el", "enlarge", fmt_bool(enabled))

    def extend(self, enabled: bool = True, gravity: GravityLike | None = None) -> Options:
        """``ex:%bool:%gravity``: pad the image up to the requested size."""
        return self._push("ex", "extend", *extend_args(enabled, gravity))

    def extend_aspect_ratio(self, enabled: bool = True, gravity: GravityLike | None = None) -> Options:
        """``exar:%bool:%gravity``: pad the image up to the requested aspect ratio."""
        return self._push("exar", "extend_aspect_ratio", *extend_args(enabled, gravity))

    # --- geometry -----------------------------------------------------------------
    def gravity(self, gravity: GravityLike, x_offset: float | None = None,
                y_offset: float | None = None) -> Options:
        """``g:%type:%x_offset:%y_offset``; ``gravity("sm")``, ``gravity("obj")`` or a :class:`Gravity`."""
        if x_offset is not None or y_offset is not None:
            if isinstance(gravity, Gravity) or gravity not in COMPASS:
                raise ValueError("gravity offsets need a compass gravity type (no, so, ea, ...)")
            value = Gravity.compass(cast(CompassGravity, gravity), x_offset, y_offset)
        else:
            value = to_gravity(gravity)
        return self._push("g", "gravity", *value.to_args())

    def gravity_focus_point(self, x: float, y: float) -> Options:
        """``g:fp:%x:%y``."""
        return self._push("g", "gravity", *Gravity.focus_point(x, y).to_args())

    def gravity_objects(self, *class_names: str) -> Options:
        """``g:obj:%class...``."""
        return self._push("g", "gravity", *Gravity.objects(*class_names).to_args())

    def gravity_objects_weighted(self, weights: Mapping[str, float] | Iterable[tuple[str, float]]) -> Options:
        """``g:objw:%class:%weight...``."""
        return self._push("g", "gravity", *Gravity.objects_weighted(weights).to_args())

    def objects_position(self, position: CompassGravity | Literal["prop"] | Gravity,
                         x_offset: float | None = None, y_offset: float | None = None) -> Options:
        """``op:%type:%x_offset:%y_offset``, ``op:prop`` or ``op:fp:%x:%y`` (a focus-point Gravity)."""
        if isinstance(position, Gravity):
            wrong_type = position.type not in COMPASS and position.type != "fp"
            if wrong_type or x_offset is not None or y_offset is not None:
                raise ValueError("objects_position takes a compass or focus-point Gravity without offsets")
            return self._push("op", "objects_position", *position.to_args())
        if position == "prop":
            if x_offset is not None or y_offset is not None:
                raise ValueError("objects_position 'prop' takes no offsets")
            return self._push("op", "objects_position", "prop")
        return self._push("op", "objects_position", *Gravity.compass(position, x_offset, y_offset).to_args())

    def crop(self, width: float, height: float = 0, gravity: GravityLike | None = None) -> Options:
        """``c:%width:%height:%gravity``: crop before resizing (values < 1 are relative)."""
        extra = to_gravity(gravity, "crop gravity").to_args() if gravity is not None else ()
        return self._push("c", "crop", non_negative(width, "crop width"),
                          non_negative(height, "crop height"), *extra)

    def trim(self, threshold: float, color: str | None = None, equal_hor: bool | None = None,
             equal_ver: bool | None = None) -> Options:
        """``t:%threshold:%color:%equal_hor:%equal_ver``: remove the surrounding background."""
        return self._push("t", "trim", fmt_num(threshold, "trim threshold"),
                          "" if color is None else hex_color(color, "trim color"),
                          opt_bool(equal_hor), opt_bool(equal_ver))

    def padding(self, top: int, right: int | None = None, bottom: int | None = None,
                left: int | None = None) -> Options:
        """``pd:%top:%right:%bottom:%left`` (CSS order; omitted sides follow CSS rules)."""
        return self._push("pd", "padding", int_arg(top, "padding"),
                          *("" if v is None else int_arg(v, "padding") for v in (right, bottom, left)))

    def auto_rotate(self, enabled: bool = True) -> Options:
        """``ar:%bool``: rotate by the EXIF orientation."""
        return self._push("ar", "auto_rotate", fmt_bool(enabled))

    def rotate(self, angle: int) -> Options:
        """``rot:%angle``: a multiple of 90 degrees."""
        text = int_arg(angle, "rotate angle", minimum=None)
        if angle % 90:
            raise ValueError(f"rotate angle must be a multiple of 90, got {angle}")
        return self._push("rot", "rotate", text)

    def flip(self, horizontal: bool | None = None, vertical: bool | None = None) -> Options:
        """``fl:%horizontal:%vertical``."""
        if horizontal is None and vertical is None:
            raise ValueError("flip needs horizontal and/or vertical")
        return self._push("fl", "flip", opt_bool(horizontal), opt_bool(vertical))

    # --- colour and effects -------------------------------------------------------
    def background(self, color: str | tuple[int, int, int] | None) -> Options:
        """``bg:%hex`` or ``bg:%r:%g:%b``; ``None`` gives ``bg:`` (no background)."""
        if color is None:
            return self._push("bg", "background", "")
        if isinstance(color, str):
            return self._push("bg", "background", hex_color(color, "background"))
        if len(color) != 3:
            raise ValueError(f"background needs (r, g, b), got {color!r}")
        return self._push("bg", "background", *(int_arg(c, "background channel", 0, 255) for c in color))

    def blur(self, sigma: float) -> Options:
        """``bl:%sigma``: gaussian blur."""
        return self._push("bl", "blur", non_negative(sigma, "blur sigma"))

    def sharpen(self, sigma: float) -> Options:
        """``sh:%sigma``."""
        return self._push("sh", "sharpen", non_negative(sigma, "sharpen sigma"))

    def pixelate(self, size: int) -> Options:
        """``pix:%size``."""
        return self._push("pix", "pixelate", int_arg(size, "pixelate size"))

    def brightness(self, brightness: int) -> Options:
        """``br:%brightness``: -255 to 255 added to every colour channel."""
        return self._push("br", "brightness", int_arg(brightness, "brightness", minimum=-255, maximum=255))

    def watermark(self, opacity: float, position: WatermarkPosition | None = None,
                  x_offset: float | None = None, y_offset: float | None = None,
                  scale: float | None = None) -> Options:
        """``wm:%opacity:%position:%x_offset:%y_offset:%scale``."""
        return self._push(
            "wm", "watermark", unit(opacity, "watermark opacity"),
            "" if position is None else choice(position, WATERMARK_POSITIONS, "watermark position"),
            opt_num(x_offset, "watermark x offset"), opt_num(y_offset, "watermark y offset"),
            "" if scale is None else non_negative(scale, "watermark scale"),
        )

    # --- detections ---------------------------------------------------------------
    def crop_objects(self, scale_factor: float, *class_names: str) -> Options:
        """``cob:%scale_factor:%class...``: crop to the detected objects (all when no class is given)."""
        return self._push("cob", "crop_objects", positive(scale_factor, "crop_objects scale factor"),
                          *(fmt_str(c, "class name") for c in class_names))

    def object_index(self, index: int, fallback: bool | None = None) -> Options:
        """``oix:%index:%fallback``: with :meth:`crop_objects`, only the n-th detection from the left
        (fewer detections: a 404, or with ``fallback`` normal processing)."""
        return self._push("oix", "object_index", int_arg(index, "object index"), opt_bool(fallback))

    def blur_detections(self, sigma: float, *class_names: str) -> Options:
        """``bd:%sigma:%class...``: blur detected objects."""
        return self._push("bd", "blur_detections", non_negative(sigma, "blur_detections sigma"),
                          *(fmt_str(c, "class name") for c in class_names))

    def pixelate_detections(self, size: int, *class_names: str) -> Options:
        """``pxd:%size:%class...``: pixelate detected objects."""
        return self._push("pxd", "pixelate_detections", int_arg(size, "pixelate_detections size"),
                          *(fmt_str(c, "class name") for c in class_names))

    def draw_detections(self, *class_names: str, draw: bool = True) -> Options:
        """``dd:%draw:%class...``: draw the boxes of detected objects."""
        return self._push("dd", "draw_detections", fmt_bool(draw),
                          *(fmt_str(c, "class name") for c in class_names))

    # --- output -------------------------------------------------------------------
    def strip_metadata(self, enabled: bool = True) -> Options:
        """``sm:%bool``."""
        return self._push("sm", "strip_metadata", fmt_bool(enabled))

    def keep_copyright(self, enabled: bool = True) -> Options:
        """``kcr:%bool``."""
        return self._push("kcr", "keep_copyright", fmt_bool(enabled))

    def strip_color_profile(self, enabled: bool = True) -> Options:
        """``scp:%bool``."""
        return self._push("scp", "strip_color_profile", fmt_bool(enabled))

    def enforce_thumbnail(self, enabled: bool = True) -> Options:
        """``eth:%bool``: use the thumbnail embedded in HEIC/AVIF sources."""
        return self._push("eth", "enforce_thumbnail", fmt_bool(enabled))

    def quality(self, quality: int) -> Options:
        """``q:%quality`` (1-100; 0 means the configured default)."""
        return self._push("q", "quality", int_arg(quality, "quality", 0, 100))

    def format_quality(self, qualities: Mapping[str, int | None]) -> Options:
        """``fq:%format:%quality...``; formats whose quality is ``None`` are skipped."""
        args: list[str] = []
        for fmt, quality in qualities.items():
            if quality is not None:
                args += [fmt_str(fmt, "format"), int_arg(quality, "quality", 0, 100)]
        if not args:
            raise ValueError("format_quality needs at least one format and quality")
        return self._push("fq", "format_quality", *args)

    def autoquality(self, method: str | None = None, target: float | None = None,
                    min_quality: int | None = None, max_quality: int | None = None,
                    allowed_error: float | None = None) -> Options:
        """``aq:%method:%target:%min_quality:%max_quality:%allowed_error``."""
        return self._push(
            "aq", "autoquality", "" if method is None else fmt_str(method, "autoquality method"),
            opt_num(target, "autoquality target"),
            "" if min_quality is None else int_arg(min_quality, "min quality", 0, 100),
            "" if max_quality is None else int_arg(max_quality, "max quality", 0, 100),
            opt_num(allowed_error, "autoquality allowed error"),
        )

    def max_bytes(self, max_bytes: int) -> Options:
        """``mb:%bytes``: degrade quality until the result fits."""
        return self._push("mb", "max_bytes", int_arg(max_bytes, "max_bytes"))

    def png_options(self, interlaced: bool | None = None, quantize: bool | None = None,
                    quantization_colors: int | None = None) -> Options:
        """``pngo:%interlaced:%quantize:%quantization_colors``."""
        colors = ("" if quantization_colors is None
                  else int_arg(quantization_colors, "quantization colors", 2, 256))
        return self._push("pngo", "png_options", opt_bool(interlaced), opt_bool(quantize), colors)

    def format(self, extension: str) -> Options:
        """``f:%extension``: the output format (the URL's extension does the same)."""
        if not EXTENSION_RE.fullmatch(extension):
            raise ValueError(f"invalid format {extension!r}")
        return self._push("f", "format", extension)

    def skip_processing(self, *extensions: str) -> Options:
        """``skp:%extension...``: return sources of these formats unprocessed."""
        if not extensions:
            raise ValueError("skip_processing needs at least one format")
        return self._push("skp", "skip_processing", *(fmt_str(e, "format") for e in extensions))

    def raw(self, enabled: bool = True) -> Options:
        """``raw:%bool``: stream the source unprocessed and unchecked."""
        return self._push("raw", "raw", fmt_bool(enabled))

    def filename(self, name: str, *, encode: bool | None = None) -> Options:
        """``fn:%filename`` or ``fn:%base64:1``, for the ``Content-Disposition`` header.

        ``encode=None`` sends the name as is when it is made of safe characters only, and
        URL-safe Base64 (with the ``1`` flag) otherwise.
        """
        if encode is None:
            encode = not ARG_RE.fullmatch(name)
        if encode:
            return self._push("fn", "filename", b64(name), "1")
        return self._push("fn", "filename", fmt_str(name, "filename"))

    def return_attachment(self, enabled: bool = True) -> Options:
        """``att:%bool``: ``Content-Disposition: attachment``."""
        return self._push("att", "return_attachment", fmt_bool(enabled))

    def disable_animation(self, enabled: bool = True) -> Options:
        """``da:%bool``: treat animated sources as still images."""
        return self._push("da", "disable_animation", fmt_bool(enabled))

    def fallback_image_url(self, url: str) -> Options:
        """``fiu:%base64_url``: the image to serve when the source cannot be had."""
        return self._push("fiu", "fallback_image_url", b64(url))

    # --- video --------------------------------------------------------------------
    def video_frame(self, frame: int) -> Options:
        """``vf:%frame``: take the thumbnail from this frame number."""
        return self._push("vf", "video_frame", int_arg(frame, "video frame"))

    def representative_face(self, enabled: bool = True) -> Options:
        """``rf:%bool``: the sharpest of the biggest, surest faces of a photo or video."""
        return self._push("rf", "representative_face", fmt_bool(enabled))

    def video_thumbnail_best(self, enabled: bool = True) -> Options:
        """``vtb:%bool``: pick the most representative frame as the thumbnail."""
        return self._push("vtb", "video_thumbnail_best", fmt_bool(enabled))
