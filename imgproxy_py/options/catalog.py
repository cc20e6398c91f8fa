"""The full option registry: imgproxy's open-source options plus those of our subsystems."""

from imgproxy_py.options.detection import register_detection_options
from imgproxy_py.options.optimization import register_optimization_options
from imgproxy_py.options.standard import registry

register_detection_options(registry)
register_optimization_options(registry)

__all__ = ["registry"]
