"""Argument checks shared by every module: a bad argument gets one clear ValueError that names it
and says what is accepted."""
from __future__ import annotations

from collections.abc import Iterable


def check_int(name: str, value, minimum: int = 1, allow_none: bool = False) -> None:
    """``value`` must be an int (not a bool) >= ``minimum``; ``None`` too if ``allow_none``."""
    if allow_none and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        accepted = f"None or an int >= {minimum}" if allow_none else f"an int >= {minimum}"
        raise ValueError(f"{name} must be {accepted}, got {value!r}")


def check_choice(name: str, value, accepted: Iterable) -> None:
    """``value`` must be one of ``accepted``."""
    accepted = list(accepted)
    if value not in accepted:
        raise ValueError(f"{name} must be one of {accepted}, got {value!r}")
