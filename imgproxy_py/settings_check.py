"""Names ``IMGPROXY_*`` variables that nothing read at start-up.

A typo (``IMGPROXY_QUALTY``) or a setting of an imgproxy feature we do not have yet would
otherwise be ignored without a word, and the server would quietly behave differently from
what its admin wrote.  Every subsystem reads its settings through the config root's
:class:`~imgproxy_py.envreader.TrackedEnv` once, in :func:`imgproxy_py.config.read_config`,
which records what it looked up: whatever it did not look up is not used.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

_IMGPROXY_SETTINGS = Path(__file__).with_name("imgproxy_settings.txt")
PREFIX = "IMGPROXY_"


@lru_cache(maxsize=1)
def imgproxy_settings() -> frozenset[str]:
    """Every setting imgproxy documents (open source and Pro, current and earlier versions)."""
    lines = _IMGPROXY_SETTINGS.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


# imgproxy's earlier names that still work, and what replaced each (its docs' "deprecated alias").
DEPRECATED_SETTINGS = {
    "IMGPROXY_ENABLE_WEBP_DETECTION": "IMGPROXY_AUTO_WEBP",
    "IMGPROXY_ENABLE_AVIF_DETECTION": "IMGPROXY_AUTO_AVIF",
    "IMGPROXY_WRITE_TIMEOUT": "IMGPROXY_TIMEOUT",
    "IMGPROXY_READ_TIMEOUT": "IMGPROXY_READ_REQUEST_TIMEOUT",
    "IMGPROXY_OPEN_TELEMETRY_ENDPOINT": "OTEL_EXPORTER_OTLP_ENDPOINT and IMGPROXY_OPEN_TELEMETRY_ENABLE",
    "IMGPROXY_OPEN_TELEMETRY_PROTOCOL": "OTEL_EXPORTER_OTLP_PROTOCOL",
    "IMGPROXY_OPEN_TELEMETRY_GRPC_INSECURE": "OTEL_EXPORTER_OTLP_ENDPOINT with http://",
    "IMGPROXY_OPEN_TELEMETRY_SERVICE_NAME": "OTEL_SERVICE_NAME",
    "IMGPROXY_OPEN_TELEMETRY_PROPAGATORS": "OTEL_PROPAGATORS",
    "IMGPROXY_OPEN_TELEMETRY_CONNECTION_TIMEOUT": "OTEL_EXPORTER_OTLP_TIMEOUT",
}


# imgproxy settings of the Go runtime, its buffers and its licence, and ones imgproxy itself
# dropped, which have nothing to act on here: the warning says so instead of "not supported yet".
NOTHING_TO_DO = {
    "IMGPROXY_LICENSE_KEY": "imgproxy_py needs no licence key",
    "IMGPROXY_LICENSE_DEVELOPMENT_MODE": "imgproxy_py needs no licence key",
    "IMGPROXY_DOWNLOAD_BUFFER_SIZE": "downloads are read into one buffer sized by the source",
    "IMGPROXY_BUFFER_POOL_CALIBRATION_THRESHOLD": "there is no buffer pool to calibrate",
    "IMGPROXY_MALLOC": "a Go runtime setting (imgproxy_py limits glibc's malloc arenas itself)",
    "IMGPROXY_PPROF_BIND": "Go's profiler; profile imgproxy_py with py-spy or perf",
    "IMGPROXY_SVG_FIX_UNSUPPORTED": "imgproxy removed it in 3.28: librsvg renders what it worked around",
    "IMGPROXY_OBJECT_DETECTION_CONFIG": "a Darknet model, which imgproxy deprecated: give an ONNX model in "
                                        "IMGPROXY_OBJECT_DETECTION_NET",
    "IMGPROXY_OBJECT_DETECTION_WEIGHTS": "a Darknet model, which imgproxy deprecated: give an ONNX model in "
                                         "IMGPROXY_OBJECT_DETECTION_NET",
    **{f"IMGPROXY_AUTOQUALITY_{fmt}_NET": "imgproxy Pro's own trained model; the ml method runs the model "
                                          "imgproxy_py ships" for fmt in ("JPEG", "WEBP", "AVIF", "JXL")},
    **{f"IMGPROXY_AUTOQUALITY_ML_{name}": "the ml autoquality model is a small numpy network run in the "
                                         "request's worker, not an inference session"
       for name in ("INFERENCE_NUM_THREADS", "INFERENCE_NUM_STREAMS", "EXECUTION_MODE", "CPU_PINNING")},
}


def deprecated_settings(given: Iterable[str]) -> list[str]:
    """imgproxy's message for each deprecated name set (a warning, or with
    ``IMGPROXY_FAIL_ON_DEPRECATION`` a reason not to start)."""
    given = set(given)
    return [f"{old} is deprecated, use {new} instead" for old, new in DEPRECATED_SETTINGS.items() if old in given]


def settings_warnings(given: Iterable[str], read: Iterable[str]) -> list[str]:
    """What start-up logs about the settings: deprecated names, then names nothing read."""
    given = list(given)
    return deprecated_settings(given) + unread_settings(given, read)


def unread_settings(given: Iterable[str], read: Iterable[str]) -> list[str]:
    """One warning for each ``IMGPROXY_*`` name in ``given`` (the environment) not in ``read``."""
    read = set(read)
    ours = sorted(name for name in read if name.startswith(PREFIX))
    warnings = []
    for name in sorted(n for n in given if n.startswith(PREFIX) and n not in read):
        if name in NOTHING_TO_DO:
            warnings.append(f"{name} has nothing to act on in imgproxy_py ({NOTHING_TO_DO[name]}): ignored")
            continue
        if name in imgproxy_settings():
            warnings.append(f"{name} is an imgproxy setting that imgproxy_py does not support yet: ignored")
            continue
        close = difflib.get_close_matches(name, ours + sorted(imgproxy_settings()), n=1, cutoff=0.8)
        hint = f" (did you mean {close[0]}?)" if close else ""
        warnings.append(f"{name} is not a setting imgproxy_py knows: ignored{hint}")
    return warnings
