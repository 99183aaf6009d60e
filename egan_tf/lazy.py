"""Lazy attributes of a package, so that its light names import at once."""

from __future__ import annotations

import importlib
from collections.abc import Callable


def lazy_attributes(package: str, names: dict[str, str]) -> Callable[[str], object]:
    """A module `__getattr__` (PEP 562) that imports `package.<module>` on
    first use of one of `names` (attribute name -> module name)."""

    def getattr_(name: str):
        if name in names:
            module = importlib.import_module(f"{package}.{names[name]}")
            return getattr(module, name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return getattr_
