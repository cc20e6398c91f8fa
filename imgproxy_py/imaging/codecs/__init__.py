"""Loaders and savers: libvips' and our own (BMP, ICO), SVG sanitizing, and encoding with
quality control.  Which codec handles a format is in its record (``imgproxy_py.formats``)."""
