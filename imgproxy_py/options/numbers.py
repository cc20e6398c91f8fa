"""How a number is written in the canonical form of options (cache keys, ETags): the shortest
float repr, without a ``.0`` on whole numbers, so ``1``, ``1.0`` and ``1.00`` give one key."""

from __future__ import annotations


def canonical_number(value: float) -> str:
    return repr(float(value)).removesuffix(".0")
