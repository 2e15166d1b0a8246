"""Host builders: porous organic cages, MOF cells and cluster models, polymer and silica fragments.

Every host is made from code (building blocks, space-group data, SMILES) and comes back as a
:class:`Host`: a finite :class:`~screening.geometry.Molecule` with its named binding sites and a
record of how it was made (``info``: source, charge and spin bookkeeping, measured pore sizes).

Relaxed hosts are cached in ``structures/hosts/<name>.xyz`` (written by
``structures/generate.py hosts``); :func:`get_host` reads the cache when it matches the recipe and
builds from code otherwise.

>>> from screening.hosts import get_host
>>> cc3 = get_host("CC3")                      # doctest: +SKIP
>>> cc3.molecule.formula, sorted(cc3.sites)    # doctest: +SKIP
('C72H84N12', ['endo', 'exo', 'imine_N', 'window'])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..errors import InputError
from ..geometry import Molecule


@dataclass(frozen=True)
class Site:
    """Where a guest may go.

    points : anchor positions in Å, shape (n, 3).
    normals : unit vectors pointing away from the host at each anchor (zero for a cavity centre).
    kind : ``cavity`` (guest centroid on the anchor), ``window`` (guest centroid on the anchor,
        straddling it), ``surface`` (guest outside, beyond the anchor along the normal) or
        ``atom`` (a coordinating atom: the guest's nearest atom about 2 Å out along the normal).
    """

    name: str
    kind: str
    points: np.ndarray
    normals: np.ndarray

    def __post_init__(self) -> None:
        object.__setattr__(self, "points", np.asarray(self.points, float).reshape(-1, 3))
        object.__setattr__(self, "normals", np.asarray(self.normals, float).reshape(-1, 3))


@dataclass(frozen=True)
class Host:
    """A host ready for placement: molecule, sites by name and provenance (``info``)."""

    name: str
    molecule: Molecule
    sites: dict[str, Site]
    info: dict = field(default_factory=dict)
    frozen: bool = False  # cut-out models (clusters, oligomer ends) keep their atoms fixed

    def site(self, name: str) -> Site:
        """The site ``name``; a clear error listing the host's sites otherwise."""
        if name not in self.sites:
            raise InputError(f"host {self.name!r} has no site {name!r}; its sites: "
                             f"{', '.join(sorted(self.sites))}", field="site")
        return self.sites[name]


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


def get_host(name: str, **options) -> Host:
    """Build (or read from the cache) the host ``name``.

    ``options`` are the builder's keywords, e.g. ``cluster="paddlewheel"`` for HKUST-1 or
    ``units=6`` for an oligomer. Unknown names or options raise :class:`InputError`.
    """
    reg = _registry()
    if name not in reg:
        raise InputError(f"unknown host {name!r}; the library has: {', '.join(host_names())}",
                         field="host")
    builder = reg[name][0]
    try:
        return builder(**options)
    except TypeError as exc:
        raise InputError(f"host {name!r}: {exc}", field="host") from None
