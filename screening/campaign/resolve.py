"""The expensive part of loading a campaign: library hosts and GFN2-xTB guest references.

``screening run`` and ``submit`` resolve a campaign in full: hosts are built (or read from the
caches, :mod:`screening.hosts.cache`) and every placed guest's reference is relaxed with
GFN2-xTB, so that pose rows are consistently DFT//GFN2-xTB. ``screening validate`` resolves
with ``check_only``: hosts come from the caches, or are built without their relaxation, nothing
is written and no xTB runs; the names, sites and fits it checks are the same.
"""

from __future__ import annotations

from pathlib import Path

from ..geometry import Molecule
from ..specs import Host, Part


class Resolver:
    """Builds (and remembers) what a campaign names that costs compute.

    Parameters
    ----------
    check_only : validation: no GFN2-xTB, no file written.
    cache_dir : the user cache of built hosts (default: the settings').
    """

    def __init__(self, check_only: bool = False, cache_dir: str | Path | None = None) -> None:
        self.check_only = check_only
        self.cache_dir = cache_dir
        self._hosts: dict[str, Host] = {}

    def host(self, name: str, options: dict) -> Host:
        """The library host ``name`` built with ``options`` (once per campaign)."""
        from ..hosts import get_host

        key = repr((name, sorted(options.items())))
        if key not in self._hosts:
            self._hosts[key] = get_host(name, cache_dir=self.cache_dir,
                                        check_only=self.check_only, **options)
        return self._hosts[key]

    def shell(self, ion: Molecule, ligands: list[Molecule], candidates: int, seed: int,
              name: str, host: Host | None = None, donors: list[str] | None = None
              ) -> tuple[Molecule, tuple[Part, ...]]:
        """The best solvation shell (:func:`screening.complexes.shell`, or
        :func:`~screening.complexes.host_shell` on ``donors`` of ``host``); under
        ``check_only`` the first rigid candidate, unrelaxed."""
        from ..complexes import host_shell, host_shell_candidates, shell, shell_candidates

        if host is not None:
            if self.check_only:
                mol, parts = host_shell_candidates(host, ion, ligands, donors or [], 1, seed)[0]
            else:
                mol, parts = host_shell(host, ion, ligands, donors or [], candidates, 1,
                                        seed)[0]
        elif self.check_only:
            mol, parts = shell_candidates(ion, ligands, 1, seed)[0]
        else:
            mol, parts = shell(ion, ligands, candidates, 1, seed)[0]
        return Molecule(mol.symbols, mol.positions, mol.charge, mol.multiplicity, name=name), parts

    def guest_reference(self, guest: Molecule, label: str) -> Molecule:
        """The reference of a placed guest: relaxed with GFN2-xTB like the poses (an atom as it
        is). Under ``check_only`` the geometry is left as given."""
        if guest.natoms == 1:
            return Molecule(guest.symbols, guest.positions, guest.charge, guest.multiplicity,
                            name=label)
        relaxed = guest
        if not self.check_only:
            from ..engines.xtb import xtb_relaxed

            relaxed = xtb_relaxed(guest, deterministic=True)[0]
        return Molecule(relaxed.symbols, relaxed.positions, guest.charge, guest.multiplicity,
                        name=f"{label} (GFN2-xTB)")
