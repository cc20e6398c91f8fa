"""The ``/info`` endpoint's options: their own declarations, registry and model."""

from imgproxy_py.options.info.declarations import INFO_OPTIONS
from imgproxy_py.options.info.model import InfoOption, InfoRequestOptions
from imgproxy_py.options.info.parser import INFO_REGISTRY, InfoOptionsParser

__all__ = ["INFO_OPTIONS", "INFO_REGISTRY", "InfoOption", "InfoOptionsParser", "InfoRequestOptions"]
