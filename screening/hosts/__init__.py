"""Host builders: porous organic cages, MOF cells and cluster models, polymer and silica fragments.

Every host is made from code (building blocks, space-group data, SMILES) and comes back as a
:class:`Host`: a finite :class:`~screening.geometry.Molecule` with its named binding sites and a
record of how it was made (``info``: source, charge and spin bookkeeping, measured pore sizes).

Relaxed hosts are cached (see :mod:`screening.hosts.cache`: the user cache, then the hosts
shipped in ``screening/data/hosts``); :func:`get_host` reads a cache when it matches the recipe
and builds from code otherwise, writing the user cache.

>>> from screening.hosts import get_host
>>> cc3 = get_host("CC3")                      # doctest: +SKIP
>>> cc3.molecule.formula, sorted(cc3.sites)    # doctest: +SKIP
('C72H84N12', ['endo', 'exo', 'imine_N', 'window'])
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Callable

from ..errors import InputError
from ..specs import Host, Site
from .cache import cache_policy


Builder = Callable[..., Host]


def _registry() -> dict[str, tuple[Builder, str]]:
    from . import cages, mofs, polymers

    return {**cages.HOSTS, **mofs.HOSTS, **polymers.HOSTS}


def host_names() -> list[str]:
    """Names of every host the library can build."""
    return sorted(_registry())


def describe_hosts() -> list[tuple[str, str]]:
    """(name, one-line description) of every host."""
    return [(n, d) for n, (_, d) in sorted(_registry().items())]


def get_host(name: str, *, cache_dir: str | Path | None = None, check_only: bool = False,
             **options) -> Host:
    """Build (or read from the cache) the host ``name``.

    ``options`` are the builder's keywords, e.g. ``cluster="paddlewheel"`` for HKUST-1 or
    ``units=6`` for an oligomer. Unknown names or options raise :class:`InputError`.
    ``cache_dir``: the user cache of built hosts (default: the settings'); ``check_only``: build
    nothing expensive and write nothing (see :mod:`screening.hosts.cache`).
    """
    reg = _registry()
    if name not in reg:
        raise InputError(f"unknown host {name!r}; the library has: {', '.join(host_names())}",
                         field="host")
    builder = reg[name][0]
    accepted = inspect.signature(builder).parameters
    for option in options:
        if option not in accepted:
            raise InputError(f"host {name!r} takes no option {option!r}; its options: "
                             f"{', '.join(accepted) or 'none'}", field="host")
    with cache_policy(cache_dir, check_only):
        return builder(**options)


__all__ = ["Builder", "Host", "Site", "describe_hosts", "get_host", "host_names"]
