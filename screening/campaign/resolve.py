"""The expensive part of loading a campaign: library hosts and GFN2-xTB guest references.

``screening run`` and ``submit`` resolve a campaign in full: hosts are built (or read from the
caches, :mod:`screening.hosts.cache`) and every placed guest's reference is relaxed with
GFN2-xTB, so that pose rows are consistently DFT//GFN2-xTB. ``screening validate`` resolves
with ``check_only``: hosts come from the caches, or are built without their relaxation, nothing
is written and no xTB runs; the names, sites and fits it checks are the same.

Shells and guest references, repeatable on one machine, are kept once made: in memory for the
resolver's life (a report loads a campaign once per tier) and as JSON under
``<cache_dir>/complexes`` (keyed by a hash of every input and the package version), so a
campaign loads in seconds the second time. A damaged file there is made again.

A GFN2-xTB relaxation is repeatable on one machine, not across tblite, numpy or CPU versions;
since a placement's key holds its guest reference's coordinates, results are portable only with
the structures they were made from. So the resolver lists what it used (:attr:`Resolver.kept`),
an export carries it, and an import writes it back here (:func:`write_kept`).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Callable

from ..geometry import Molecule
from ..hashing import content_hash
from ..specs import Host, Part

Built = tuple[Molecule, tuple[Part, ...]]


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
        self._built: dict[str, Built] = {}

    def _kept(self, what: str, inputs: object, build: Callable[[], Built]) -> Built:
        """``build()``, or what it gave before for the same ``inputs`` (memory, then disk)."""
        stem = kept_stem(what, inputs)
        if stem not in self._built:
            path = kept_path(stem)
            try:
                made = kept_from_payload(json.loads(path.read_text()))
            except (OSError, ValueError, KeyError, TypeError):
                made = build()
                try:
                    write_kept(stem, kept_payload(made))
                except OSError:  # a read-only cache only costs the time to make it again
                    pass
            self._built[stem] = made
        return self._built[stem]

    @property
    def kept(self) -> dict[str, dict]:
        """What this resolver kept or made, by file stem (``guest-<hash>``), in the JSON form
        :func:`write_kept` writes."""
        return {stem: kept_payload(made) for stem, made in self._built.items()}

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
                mol, parts = self._kept(
                    "shell", [ion.to_dict(), [x.to_dict() for x in ligands], candidates, seed,
                              host.molecule.to_dict(), list(donors or [])],
                    lambda: host_shell(host, ion, ligands, donors or [], candidates, 1,
                                       seed)[0])
        elif self.check_only:
            mol, parts = shell_candidates(ion, ligands, 1, seed)[0]
        else:
            mol, parts = self._kept(
                "shell", [ion.to_dict(), [x.to_dict() for x in ligands], candidates, seed],
                lambda: shell(ion, ligands, candidates, 1, seed)[0])
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

            relaxed = self._kept("guest", guest.to_dict(),
                                 lambda: (xtb_relaxed(guest, deterministic=True)[0], ()))[0]
        return Molecule(relaxed.symbols, relaxed.positions, guest.charge, guest.multiplicity,
                        name=f"{label} (GFN2-xTB)")


def kept_payload(made: Built) -> dict:
    """The JSON form of a kept structure: its molecule and its parts."""
    return {"molecule": made[0].to_dict(), "parts": [p.to_dict() for p in made[1]]}


def kept_from_payload(payload: dict) -> Built:
    """The molecule and parts of a kept structure's JSON form (KeyError, TypeError or
    ValueError for one that is not that form)."""
    return (Molecule.from_dict(payload["molecule"]),
            tuple(Part.from_dict(p) for p in payload["parts"]))


#: a kept structure's file stem: what it is and a hash (``guest-1f0c…``), nothing else
KEPT_STEM = re.compile(r"[a-z]+-[0-9a-f]+")


def kept_stem(what: str, inputs: object) -> str:
    """The file stem of the structure of kind ``what`` (lower-case letters) kept for
    ``inputs``: ``what-<content hash of what, the package version and inputs>``."""
    from .. import __version__

    stem = f"{what}-{content_hash([what, __version__, inputs], sort_keys=True)}"
    if not KEPT_STEM.fullmatch(stem):
        raise ValueError(f"{what!r} is no kind of kept structure (lower-case letters only)")
    return stem


def exported_structures(file: str | os.PathLike, rows: list | None = None) -> dict[str, dict]:
    """The kept structures of an exported file (file stem: payload), each checked (InputError
    naming the file and row of one that is no molecule with parts, or whose name is no kept
    structure's stem). ``rows``: the file's rows when already read (:func:`read_export`)."""
    from ..errors import InputError
    from ..store import KEPT_STRUCTURE, read_export

    kept = {}
    for row in read_export(file) if rows is None else rows:
        if KEPT_STRUCTURE not in row.key_value_pairs:
            continue
        stem, payload = str(row.key_value_pairs[KEPT_STRUCTURE]), dict(row.data)
        try:
            kept_from_payload(payload)
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"{file}: row {row.id} ({stem}) is no kept structure: {exc!r}",
                             str(file)) from None
        if not KEPT_STEM.fullmatch(stem):
            raise InputError(f"{file}: row {row.id}: {stem!r} is no kept structure's name "
                             "(a kind and a hash, such as guest-1f0c9a)", str(file))
        kept[stem] = payload
    return kept


def kept_path(stem: str) -> Path:
    """Where the kept structure ``stem`` lives: ``<cache_dir>/complexes/<stem>.json``
    (ValueError for a stem that is not a kind and a hash, so no name leaves that folder)."""
    from ..settings import current_settings

    if not KEPT_STEM.fullmatch(stem):
        raise ValueError(f"{stem!r} is no kept structure's name (a kind and a hash)")
    return Path(current_settings().cache_dir) / "complexes" / f"{stem}.json"


def write_kept(stem: str, payload: dict) -> bool:
    """Write a kept structure (atomically; it replaces one of the same stem). False when the
    file already holds exactly ``payload``, so nothing was written."""
    path = kept_path(stem)
    try:
        if json.loads(path.read_text()) == payload:
            return False
    except (OSError, ValueError):
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(payload))
    tmp.replace(path)
    return True
