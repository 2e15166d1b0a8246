"""The one content-hashing helper behind every key (structures, methods, paths, placements,
campaigns, host recipes).

A key is the first ``length`` hex digits of the SHA-256 of a JSON serialisation. The JSON
options are part of the key: each caller passes the ones its keys were first made with, so
every stored key stays what it was.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Callable


def content_hash(payload: Any, length: int = 16, sort_keys: bool = False,
                 compact: bool = False, default: Callable[[Any], Any] | None = None) -> str:
    """Hex digest prefix of ``json.dumps(payload)``.

    Parameters
    ----------
    payload : any JSON-serialisable value.
    length : number of hex digits kept (16 for calculation keys, 12 for host recipes).
    sort_keys : sort mapping keys before hashing.
    compact : separators ``(",", ":")`` instead of JSON's default ``(", ", ": ")``.
    default : ``json.dumps`` fallback for values JSON cannot write (e.g. ``str``).
    """
    text = json.dumps(payload, sort_keys=sort_keys, default=default,
                      separators=(",", ":") if compact else None)
    return hashlib.sha256(text.encode()).hexdigest()[:length]
