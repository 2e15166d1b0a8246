"""Converged densities kept as initial guesses: a big single point that shares atoms with one
already converged (the frozen host inside its complex, the same host in the complex's
counterpoise basis, the complex's other fragment) starts from that density instead of PySCF's
minao guess.

After a CPU single point (energy only, no ghost atoms, at least :data:`MIN_NAO` basis
functions) converges, its density is written to
``<cache_dir>/scf/densities/<basis>/<calc key>.npz`` with its atoms (symbols, positions in Å)
and each atom's basis-function range. A new single point in the same basis (at least
:data:`MIN_NAO` functions) takes, in turn, the stored density that shares the most of its not
yet covered real atoms (same element, within :data:`MATCH_TOLERANCE_A`; of equals, the one with
the fewest other atoms), and copies its blocks among those atoms; the atoms no stored density
covers (ghosts included) keep their minao blocks, and there are no blocks between one density's
atoms and another's. The guess moves where the SCF starts, not where it converges: energies
agree with minao-started ones to the SCF tolerance, and the record names the densities used
(``EnergyResult.scf_guess``).

The folder keeps at most :data:`MAX_BYTES`; the oldest files go first. CPU runs only, as the
SCF checkpoints (:mod:`screening.engines.checkpoint`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..geometry import Molecule
from ..methods import Method
from ..settings import Settings

MIN_NAO = 300
"""Basis functions below which a single point neither stores its density nor looks for one
(minao is a good enough start for small molecules, and they would fill the folder)."""
MIN_SHARED_ATOMS = 3
"""A stored density is used only where it covers at least this many of the new atoms."""
MATCH_TOLERANCE_A = 1e-5
"""Two atoms are the same atom when their elements agree and they are this close (Å)."""
MAX_BYTES = 2_000_000_000
"""Most bytes the densities folder keeps; the least recently written files are removed first."""


@dataclass
class StoredDensity:
    """One stored density: its file, atoms (symbols, positions Å) and per-atom AO ranges."""

    path: Path
    symbols: np.ndarray
    positions: np.ndarray
    ao_ranges: np.ndarray

    def shared_atoms(self, symbols: list[str], positions: np.ndarray,
                     candidates: list[int]) -> dict[int, int]:
        """{new atom: stored atom} for the ``candidates`` (new atom indices) that sit on one of
        this density's atoms with the same element."""
        if not candidates:
            return {}
        d = np.linalg.norm(positions[candidates][:, None, :] - self.positions[None, :, :],
                           axis=-1)
        nearest = d.argmin(axis=1)
        return {i: int(j) for i, j, dist in zip(candidates, nearest, d.min(axis=1))
                if dist <= MATCH_TOLERANCE_A and self.symbols[j] == symbols[i]}


class DensityStore:
    """The densities folder of one cache: store a converged density, build a guess from it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @classmethod
    def of(cls, settings: Settings) -> DensityStore:
        return cls(Path(settings.cache_dir) / "scf" / "densities")

    def _basis_folder(self, method: Method) -> Path:
        return self.folder / _basis_tag(method.basis)

    def save(self, molecule: Molecule, method: Method, mol, mf) -> Path | None:
        """Store ``mf``'s converged density of ``molecule`` (``mol``: its PySCF ``Mole``); None
        (nothing written) for a molecule with ghosts, a small one, or a folder that cannot be
        written."""
        from ..specs import calc_key

        if molecule.ghosts or mol.nao < MIN_NAO:
            return None
        folder = self._basis_folder(method)
        path = folder / f"{calc_key(molecule, method)}.npz"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp.npz")
            np.savez(tmp, dm=np.asarray(mf.make_rdm1()), symbols=np.array(molecule.symbols),
                     positions=np.asarray(molecule.positions, dtype=float),
                     ao_ranges=mol.aoslice_by_atom()[:, 2:4])
            os.replace(tmp, path)
            self._trim()
        except OSError:
            return None
        return path

    def _trim(self) -> None:
        """Remove the oldest files while the folder holds more than :data:`MAX_BYTES`."""
        files = sorted(self.folder.glob("*/*.npz"), key=lambda p: p.stat().st_mtime)
        total = sum(p.stat().st_size for p in files)
        for p in files[:-1]:
            if total <= MAX_BYTES:
                break
            total -= p.stat().st_size
            p.unlink(missing_ok=True)

    def stored(self, method: Method) -> list[StoredDensity]:
        """The densities stored in ``method``'s basis (unreadable files skipped)."""
        out = []
        for path in sorted(self._basis_folder(method).glob("*.npz")):
            if path.name.endswith(".tmp.npz"):
                continue
            try:
                with np.load(path) as f:
                    out.append(StoredDensity(path, f["symbols"], f["positions"],
                                             f["ao_ranges"]))
            except (OSError, KeyError, ValueError):
                continue
        return out

    def guess(self, molecule: Molecule, method: Method, mol
              ) -> tuple[np.ndarray | None, dict[str, Any] | None]:
        """(initial density, what it is made of) for ``molecule`` (``mol``: its PySCF
        ``Mole``), or (None, None) where no stored density covers :data:`MIN_SHARED_ATOMS` of
        its real atoms or the molecule is small."""
        from pyscf.scf.hf import init_guess_by_minao

        if mol.nao < MIN_NAO:
            return None, None
        symbols = list(molecule.symbols)
        positions = np.asarray(molecule.positions, dtype=float)
        uncovered = molecule.real_atoms
        picks: list[tuple[StoredDensity, dict[int, int]]] = []
        candidates = self.stored(method)
        while uncovered and candidates:
            shared = [(c, c.shared_atoms(symbols, positions, uncovered)) for c in candidates]
            # the most shared atoms; of those, the density with the fewest others (a fragment
            # on its own rather than polarised inside a bigger molecule)
            best, atoms = max(shared, key=lambda s: (len(s[1]), -len(s[0].symbols)))
            if len(atoms) < MIN_SHARED_ATOMS:
                break
            picks.append((best, atoms))
            candidates.remove(best)
            uncovered = [i for i in uncovered if i not in atoms]
        if not picks:
            return None, None
        new_ranges = mol.aoslice_by_atom()[:, 2:4]
        dm = _spin_blocks(np.asarray(init_guess_by_minao(mol)))
        used = []
        for density, atoms in picks:
            new_ao, old_ao = [], []
            for i, j in atoms.items():
                (a0, a1), (b0, b1) = new_ranges[i], density.ao_ranges[j]
                if a1 - a0 != b1 - b0:  # another basis on this element: not the same layout
                    break
                new_ao.extend(range(a0, a1))
                old_ao.extend(range(b0, b1))
            else:
                try:
                    with np.load(density.path) as f:
                        old = _spin_blocks(np.asarray(f["dm"]))
                except (OSError, KeyError, ValueError):  # removed or damaged since it was read
                    continue
                dm[:, new_ao, :] = 0.0
                dm[:, :, new_ao] = 0.0
                dm[np.ix_([0, 1], new_ao, new_ao)] = old[np.ix_([0, 1], old_ao, old_ao)]
                used.append({"density": density.path.stem, "atoms": len(atoms)})
        if not used:
            return None, None
        info = {"densities": used, "real_atoms": len(molecule.real_atoms)}
        return (dm if mol.spin else dm[0] + dm[1]), info


def _spin_blocks(dm: np.ndarray) -> np.ndarray:
    """(2, nao, nao) α and β densities from a restricted (nao, nao) or unrestricted one."""
    return np.stack([dm / 2, dm / 2]) if dm.ndim == 2 else dm.copy()


def _basis_tag(basis: str) -> str:
    """A folder name for a basis set name (``def2-SVP`` → ``def2-svp``)."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in str(basis).lower())
