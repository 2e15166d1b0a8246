"""Exceptions raised on purpose: bad input (naming file, line and field) and faults of the
environment (naming the file and what to do)."""

from __future__ import annotations

import math
import numbers

import numpy as np


class ScreeningError(Exception):
    """Base class for every error the package raises on purpose (CLI exit code 2)."""


class InputError(ScreeningError):
    """A structure, species, method or campaign that cannot be used as given.

    Parameters
    ----------
    message : what is wrong.
    source : file (or other origin) the problem is in, if known.
    line : 1-based line number in ``source``, if known.
    field : dotted path of the offending field, e.g. ``quantities[2].complex``.
    """

    def __init__(self, message: str, source: str | None = None, line: int | None = None,
                 field: str | None = None) -> None:
        self.message, self.source, self.line, self.field = message, source, line, field
        where = ""
        if source:
            where = f"{source}:{line}: " if line else f"{source}: "
        elif line:
            where = f"line {line}: "
        if field:
            where += f"{field}: "
        super().__init__(where + message)


class SCFNotConverged(ScreeningError):
    """Every strategy of the SCF fallback ladder failed to converge."""


class EnvironmentFault(ScreeningError):
    """The machine, not the input, is at fault: a database or folder that cannot be read or
    written, a full disk, a damaged file (CLI exit code 3). The message names the file, the
    problem and what to do."""


KIND_WORDS = {bool: "true or false", int: "an integer", float: "a number", str: "text"}
"""How a message names each kind a value is checked against."""


def wrong_kind(value: object, kind: type, optional: bool = False) -> str | None:
    """The problem with ``value`` as a ``kind`` (``bool``, ``int``, ``float`` or ``str``), as
    "must be an integer, got 'two'"; None if it is one. Numpy scalars count as their kind, a
    flag is never a number, a float must be finite and ``optional`` admits None."""
    if value is None and optional:
        return None
    is_flag = isinstance(value, (bool, np.bool_))
    fits = {bool: is_flag,
            int: not is_flag and isinstance(value, numbers.Integral),
            float: not is_flag and isinstance(value, numbers.Real)
            and math.isfinite(float(value)),
            str: isinstance(value, str)}[kind]
    if fits:
        return None
    return f"must be {KIND_WORDS[kind]}{' or null' if optional else ''}, got {value!r}"
