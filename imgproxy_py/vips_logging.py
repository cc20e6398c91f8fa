"""Which of libvips' GLib messages reach Python: warnings and errors, as imgproxy's gliblog.

pyvips hands every level of libvips' "VIPS" log domain to the ``pyvips`` logger, and libvips
writes an INFO line for each threadpool it runs ("threadpool completed with 1 workers"), several per
request, plus one for each convolution and reduction it plans.  Each line is a call back into
Python from a thread that had released the GIL, so it waits for the GIL while the event loop or
another worker holds it: under load the worker threads spent about a seventh of their busy samples
there (py-spy, smart crop at concurrency 8), and a core stood idle meanwhile.  imgproxy forwards
only warnings and worse; so do we.  Info and debug lines go to GLib's own handler, which drops
them in C unless ``G_MESSAGES_DEBUG`` asks for them.
"""

from __future__ import annotations

import pyvips

# GLogLevelFlags (glib/gmessages.h).
G_LOG_FLAG_RECURSION = 1 << 0
G_LOG_FLAG_FATAL = 1 << 1
G_LOG_LEVEL_ERROR = 1 << 2
G_LOG_LEVEL_CRITICAL = 1 << 3
G_LOG_LEVEL_WARNING = 1 << 4
G_LOG_LEVEL_MESSAGE = 1 << 5
G_LOG_LEVEL_INFO = 1 << 6
G_LOG_LEVEL_DEBUG = 1 << 7

FORWARDED_LEVELS = (G_LOG_FLAG_RECURSION | G_LOG_FLAG_FATAL | G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL
                    | G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE)
ALL_LEVELS = FORWARDED_LEVELS | G_LOG_LEVEL_INFO | G_LOG_LEVEL_DEBUG  # what pyvips registers

VIPS_DOMAIN = b"VIPS"


def forward_vips_messages(levels: int = FORWARDED_LEVELS) -> bool:
    """Re-register pyvips' handler of libvips' messages for ``levels`` only; False (and nothing
    changed) where this pyvips keeps its handler elsewhere."""
    handler_id = getattr(pyvips, "_log_handler_id", None)
    callback = getattr(pyvips, "_log_handler_cb", None)
    if not handler_id or callback is None:
        return False
    glib = pyvips.glib_lib
    glib.g_log_remove_handler(VIPS_DOMAIN, handler_id)
    # pyvips removes the handler by this id at exit, so it must name the new one.
    pyvips._log_handler_id = glib.g_log_set_handler(VIPS_DOMAIN, levels, callback, pyvips.ffi.NULL)
    return True
