"""What ``/info`` answers about a source: metadata, colours, hashes, crops, classes and video facts.

:mod:`imgproxy_py.info.describe` decides what each option costs: the header (libvips loads it
lazily, without a pixel), the whole file (hashsums), or pixels decoded once at a bounded size
and shared by every pixel option of the request (:mod:`imgproxy_py.info.picture`).
"""
