"""The step list and the folder agree: one module per step, named as the step, in imgproxy's order."""

from __future__ import annotations

from pathlib import Path

import imgproxy_py.imaging.steps as steps_package
from imgproxy_py.imaging.steps import MAIN_STEPS

ORDER = (
    "vector_guard_scale", "trim", "crop_objects", "scale_on_load", "detect_objects", "colorspace_to_processing",
    "blur_areas", "crop",
    "scale", "rotate_and_flip", "crop_to_result", "unsharp_masking", "apply_filters", "progressive_blur",
    "adjust", "tone", "detection_effects", "extend", "extend_aspect_ratio", "padding", "fix_size", "colorize",
    "gradient", "flatten", "watermark",
)


def test_steps_in_imgproxys_order() -> None:
    assert tuple(step.__name__ for step in MAIN_STEPS) == ORDER


def test_one_module_per_step_named_as_the_step() -> None:
    assert all(step.__module__ == f"imgproxy_py.imaging.steps.{step.__name__}" for step in MAIN_STEPS)
    modules = {path.stem for path in Path(steps_package.__file__).parent.glob("*.py")} - {"__init__"}
    assert modules == set(ORDER)


def test_every_step_has_tests_of_its_own() -> None:
    here = Path(__file__).parent
    assert all((here / f"test_{name}.py").is_file() for name in ORDER)
