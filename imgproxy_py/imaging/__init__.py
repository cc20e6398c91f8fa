"""Image processing: the libvips pipeline, its steps and codecs."""
