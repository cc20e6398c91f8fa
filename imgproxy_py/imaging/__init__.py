"""Image processing with libvips.

- ``pipeline``: one request as plain functions (decode, choose the output format, run the
  steps, encode) and the ``Processor`` that holds what is fixed at start-up;
- ``steps``: one module per step, and ``MAIN_STEPS``, their order;
- ``codecs``: loaders and savers (libvips', our own BMP/ICO, and HEIC, JPEG XL and PDF through
  optional wheels), SVG sanitizing, quality control;
- ``context`` (the state steps share), ``dependencies`` (what they use: detection, special
  sources, the watermark), ``vips`` (the libvips calls several places make);
- helpers that several steps share: ``geometry`` (size and position arithmetic), ``cropping``,
  ``canvas``, ``objects`` and ``object_geometry`` (detections), ``output_format``,
  ``animation``, ``metadata``; ``sources`` decodes video and camera RAW.
"""
