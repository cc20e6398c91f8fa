"""imgproxy_py: an image proxy that speaks imgproxy's URL language, on libvips."""

__version__ = "0.1.0"
