"""Small typed argument parsers shared by every option, with imgproxy's rules.

Each takes the option's name (for the error message) and the raw argument, and either
returns the typed value or raises :class:`InvalidURLError` naming the option.  The
``ArgType`` constants at the end are what declarations build their grammars from.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Mapping, Sequence
from typing import TypeVar

from imgproxy_py.errors import InvalidURLError
from imgproxy_py.go_numbers import DECIMAL, INTEGER
from imgproxy_py.options.grammar import ArgType
from imgproxy_py.options.model import Color

T = TypeVar("T")

# Go's strconv.ParseBool, which imgproxy uses.
_BOOL_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
_BOOL_FALSE = {"0", "f", "F", "FALSE", "false", "False"}
# Go's int64 range (imgproxy parses with ParseInt's bitSize 64)
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_HEX_COLOR_RE = re.compile(r"[0-9a-fA-F]{6}|[0-9a-fA-F]{3}")


def bad_argument(option: str, arg: str, expected: str = "") -> InvalidURLError:
    suffix = f" (expected {expected})" if expected else ""
    return InvalidURLError(f"Invalid {option} argument: {arg!r}{suffix}")


def ensure_args(option: str, args: Sequence[str], *, minimum: int = 1, maximum: int) -> None:
    if len(args) < minimum or len(args) > maximum:
        raise InvalidURLError(f"Invalid {option} arguments: {':'.join(args)!r}")


def parse_bool(option: str, arg: str) -> bool:
    if arg in _BOOL_TRUE:
        return True
    if arg in _BOOL_FALSE:
        return False
    # imgproxy logs a warning and treats anything else as false; a 404 here would break
    # URLs that work with imgproxy.
    return False


def parse_int(option: str, arg: str) -> int:
    value = _try_int(arg)
    if value is None:
        raise bad_argument(option, arg, "integer number")
    return value


def parse_non_negative_int(option: str, arg: str) -> int:
    value = _try_int(arg)
    if value is None or value < 0:
        raise bad_argument(option, arg, "positive number or 0")
    return value


def parse_positive_int(option: str, arg: str) -> int:
    value = _try_int(arg)
    if value is None or value <= 0:
        raise bad_argument(option, arg, "positive number")
    return value


def parse_float(option: str, arg: str) -> float:
    value = _try_float(arg)
    if value is None:
        raise bad_argument(option, arg, "number")
    return value


def parse_non_negative_float(option: str, arg: str) -> float:
    value = _try_float(arg)
    if value is None or value < 0:
        raise bad_argument(option, arg, "positive number or 0")
    return value


def parse_positive_float(option: str, arg: str) -> float:
    value = _try_float(arg)
    if value is None or value <= 0:
        raise bad_argument(option, arg, "positive number")
    return value


def parse_unit_float(option: str, arg: str) -> float:
    value = _try_float(arg)
    if value is None or not 0 <= value <= 1:
        raise bad_argument(option, arg, "number in range 0-1")
    return value


def parse_quality(option: str, arg: str, minimum: int = 0) -> int:
    value = _try_int(arg)
    if value is None or not minimum <= value <= 100:
        raise bad_argument(option, arg, f"number in range {minimum}-100")
    return value


def parse_hex_color(option: str, arg: str) -> Color:
    if not _HEX_COLOR_RE.fullmatch(arg):
        raise bad_argument(option, arg, "hex-encoded color")
    if len(arg) == 3:
        arg = "".join(ch * 2 for ch in arg)
    return Color(int(arg[0:2], 16), int(arg[2:4], 16), int(arg[4:6], 16))


def parse_byte(option: str, arg: str) -> int:
    # Go's ParseUint: no sign.
    value = _try_int(arg) if arg.isascii() and arg.isdigit() else None
    if value is None or not 0 <= value <= 255:
        raise bad_argument(option, arg, "number in range 0-255")
    return value


def parse_signed_byte(option: str, arg: str) -> int:
    value = _try_int(arg) if INTEGER.fullmatch(arg) else None
    if value is None or not -255 <= value <= 255:
        raise bad_argument(option, arg, "number in range -255-255")
    return value


def parse_base64(option: str, arg: str) -> str:
    try:
        stripped = arg.rstrip("=")
        raw = base64.b64decode(stripped + "=" * (-len(stripped) % 4), altchars=b"-_", validate=True)
        return raw.decode()
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise bad_argument(option, arg, "URL-safe base64-encoded string") from None


def parse_choice(option: str, arg: str, choices: Mapping[str, T]) -> T:
    if arg not in choices:
        raise bad_argument(option, arg, "one of " + ", ".join(choices))
    return choices[arg]


def _try_int(arg: str) -> int | None:
    """An int64 as Go's Atoi reads it (leading zeros allowed), or None."""
    if not INTEGER.fullmatch(arg):
        return None
    digits = arg.lstrip("+-").lstrip("0")
    if len(digits) > 19:  # past int64 whatever the digits; and int() refuses 4300+ digits
        return None
    value = int(arg)
    return value if _INT64_MIN <= value <= _INT64_MAX else None


def _try_float(arg: str) -> float | None:
    """A finite float64 in decimal notation, or None.

    Go's ParseFloat reports overflow (1e309) as an error, as here; NaN and infinities, which
    it reads, are refused too: no option means anything by them.
    """
    if not DECIMAL.fullmatch(arg):
        return None
    value = float(arg)
    return value if math.isfinite(value) else None


def parse_string(option: str, arg: str) -> str:
    """Any text, as is (imgproxy does not unescape arguments)."""
    return arg


def parse_right_angle(option: str, arg: str) -> int:
    angle = parse_int(option, arg)
    if angle % 90:
        raise InvalidURLError(f"Invalid {option} argument: rotation angle must be a multiple of 90")
    return angle


def choice_type(choices: Mapping[str, T], doc: str = "") -> ArgType[T]:
    return ArgType(doc or " ".join(f"`{c}`" for c in choices), lambda option, arg: parse_choice(option, arg, choices))


# The typed argument kinds declarations are built from (the doc text is what README shows).
BOOL = ArgType("bool", parse_bool)
INT = ArgType("integer", parse_int)
NON_NEGATIVE_INT = ArgType("integer ≥ 0", parse_non_negative_int)
POSITIVE_INT = ArgType("integer > 0", parse_positive_int)
FLOAT = ArgType("number", parse_float)
NON_NEGATIVE_FLOAT = ArgType("number ≥ 0", parse_non_negative_float)
POSITIVE_FLOAT = ArgType("number > 0", parse_positive_float)
UNIT_FLOAT = ArgType("number 0-1", parse_unit_float)
QUALITY = ArgType("integer 0-100", parse_quality)
HEX_COLOR = ArgType("hex colour", parse_hex_color)
BYTE = ArgType("integer 0-255", parse_byte)
SIGNED_BYTE = ArgType("integer -255-255", parse_signed_byte)
BASE64 = ArgType("URL-safe base64", parse_base64)
STRING = ArgType("text", parse_string)
RIGHT_ANGLE = ArgType("multiple of 90", parse_right_angle)
