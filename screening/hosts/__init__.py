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
import types
import typing
from pathlib import Path
from typing import Callable

import numpy as np

from ..errors import InputError, wrong_kind
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


CARVING_OPTIONS = ("nodes", "centre", "cap")
"""Options of a cif host: how many metal nodes, around which fractional point, which caps."""


def host_from_file(path: str | Path, charge: int = 0, multiplicity: int = 1, name: str = "",
                   frozen: bool = False, carving: dict | None = None) -> Host:
    """A host read from a file (xyz, pdb, mol, …, as :func:`screening.geometry.read_structure`),
    with the library's site analysis: a cage (cavity ``endo``, ``window``, ``exo``, donor
    atoms) when it encloses a cavity, otherwise ``exo`` and donor-atom sites. ``info`` says which,
    with the cavity measures either way; no cavity is invented for a host that has none.

    A cif is a periodic cell: it is carved into a cluster as the library MOFs are
    (:func:`screening.hosts.mofs.cif_cluster`; ``carving``: its ``nodes``, ``centre``, ``cap``).

    Raises InputError for an unreadable file, overlapping atoms, or a charge and multiplicity
    that do not fit the electrons (naming the file).
    """
    from ..geometry import read_structure
    from ..geometry import bond_graph
    from .analysis import (MIN_CAVITY_ANGSTROM, MIN_ENCLOSURE, cavity, enclosure, open_metal_site,
                           surface_and_donor_sites)
    from .cages import cage_host

    path = Path(path)
    if path.suffix.lower() == ".cif":
        from .mofs import cif_cluster

        if not path.is_file():
            raise InputError("file not found", str(path))
        return cif_cluster(path, charge, multiplicity, name=name, **(carving or {}))
    if carving:
        raise InputError(f"{', '.join(carving)}: only a cif host is carved (nodes, centre, cap)",
                         field="host")
    mol = read_structure(path, charge, multiplicity, name=name or path.stem)
    centre, diameter = cavity(mol)
    pos = np.asarray(mol.positions)
    size = float(np.linalg.norm(pos - pos.mean(axis=0), axis=1).max())
    inside = np.linalg.norm(centre - pos.mean(axis=0)) <= 0.5 * size  # else the search escaped
    enclosed = enclosure(mol, centre) if inside else 0.0
    info = {"source": f"read from {path}", "charge": mol.charge,
            "multiplicity": mol.multiplicity, "atoms": mol.natoms}
    metal = open_metal_site(mol, bond_graph(mol.symbols, mol.positions))
    extra = {"open_metal": metal} if metal is not None else {}
    if diameter >= MIN_CAVITY_ANGSTROM and enclosed >= MIN_ENCLOSURE:
        host = cage_host(mol.name, mol, {**info, "analysis": "cage"})
        return Host(host.name, host.molecule, {**extra, **host.sites}, host.info, frozen)
    info.update(analysis="no cavity: " + (
        f"largest empty sphere near the centroid {max(diameter, 0.0):.2f} Å wide, "
        f"{enclosed:.0%} of the rays from it meet the host (a cage needs >= "
        f"{MIN_CAVITY_ANGSTROM} Å and >= {MIN_ENCLOSURE:.0%})" if inside else
        "the largest empty sphere lies outside the molecule"))
    return Host(mol.name, mol, {**extra, **surface_and_donor_sites(mol)}, info, frozen)


def get_host(name: str, *, cache_dir: str | Path | None = None, check_only: bool = False,
             **options) -> Host:
    """Build (or read from the cache) the host ``name``.

    ``options`` are the builder's keywords, e.g. ``cluster="paddlewheel"`` for HKUST-1 or
    ``units=6`` for an oligomer. Unknown names or options raise :class:`InputError`.
    ``cache_dir``: the user cache of built hosts (default: the settings'); ``check_only``: build
    nothing expensive and write nothing (see :mod:`screening.hosts.cache`).
    """
    if "file" in options:  # a user's host: name is only its label
        allowed = {"file", "charge", "multiplicity", "frozen", *CARVING_OPTIONS}
        for option in options:
            if option not in allowed:
                raise InputError(f"a host from a file takes no option {option!r}; its options: "
                                 f"{', '.join(sorted(allowed))}", field="host")
        carving = {k: options[k] for k in CARVING_OPTIONS if k in options}
        return host_from_file(options["file"], options.get("charge", 0),
                              options.get("multiplicity", 1), name, options.get("frozen", False),
                              carving)
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
    _check_option_types(name, builder, options)
    with cache_policy(cache_dir, check_only):
        return builder(**options)


def _check_option_types(name: str, builder: Callable, options: dict) -> None:
    """InputError naming an option whose builder declares it an integer (``int`` or
    ``int | None``) or a flag (``bool``) and that is given as something else."""
    hints = typing.get_type_hints(builder)
    for option, value in options.items():
        hint = hints.get(option)
        allowed = set(typing.get_args(hint)) if isinstance(hint, types.UnionType) else {hint}
        kind = int if int in allowed else bool if allowed == {bool} else None
        problem = kind and wrong_kind(value, kind, optional=type(None) in allowed)
        if problem:
            raise InputError(f"host {name!r}: {option} {problem}", field=option)


__all__ = ["Builder", "Host", "Site", "describe_hosts", "get_host", "host_from_file",
           "host_names"]
