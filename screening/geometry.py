"""Molecular geometries as immutable, hashable values, and the checks every input goes through.

A :class:`Molecule` is what an engine computes: element symbols, Cartesian positions (Å),
total charge, spin multiplicity (2S+1) and an optional set of *ghost* atoms (basis functions
without nucleus or electrons, used for counterpoise corrections). Its :meth:`Molecule.key`
is a content hash that, together with a method's key, identifies a stored result.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
from ase import Atoms
from ase.data import atomic_numbers, covalent_radii, vdw_radii

from .errors import InputError
from .hashing import content_hash

MIN_DISTANCE_ANGSTROM = 0.5
"""Two real atoms closer than this (Å) are refused as overlapping."""

POSITION_DECIMALS = 6
"""Positions are rounded to 1e-6 Å before hashing, so that round trips through text keep keys."""


@dataclass(frozen=True)
class Molecule:
    """A finite molecule or cluster.

    Attributes
    ----------
    symbols : element symbols, one per atom.
    positions : Cartesian coordinates in Å, shape (n, 3), stored as nested tuples.
    charge : total charge in units of e.
    multiplicity : spin multiplicity 2S+1.
    ghosts : indices of ghost atoms (basis functions only).
    name : a label for people; not part of the key.
    model : indices of the high-level region of an ONIOM calculation (empty: the whole
        molecule is one region); see :mod:`screening.engines.oniom`.
    """

    symbols: tuple[str, ...]
    positions: tuple[tuple[float, float, float], ...]
    charge: int = 0
    multiplicity: int = 1
    ghosts: frozenset[int] = field(default_factory=frozenset)
    name: str = ""
    model: frozenset[int] = field(default_factory=frozenset)

    @classmethod
    def from_arrays(cls, symbols: Sequence[str], positions: Iterable[Sequence[float]],
                    charge: int = 0, multiplicity: int = 1, ghosts: Iterable[int] = (),
                    name: str = "") -> "Molecule":
        """Build a molecule from symbols and an (n, 3) array of positions in Å."""
        pos = tuple(tuple(round(float(x), POSITION_DECIMALS) + 0.0 for x in row) for row in positions)
        return cls(tuple(symbols), pos, int(charge), int(multiplicity), frozenset(ghosts), name)

    @classmethod
    def from_atoms(cls, atoms: Atoms, charge: int = 0, multiplicity: int = 1,
                   name: str = "") -> "Molecule":
        """Convert an ASE ``Atoms`` (positions in Å)."""
        return cls.from_arrays(atoms.get_chemical_symbols(), atoms.positions, charge,
                               multiplicity, name=name)

    def to_atoms(self, include_ghosts: bool = True) -> Atoms:
        """ASE ``Atoms`` of this molecule; ghost atoms kept unless ``include_ghosts`` is False."""
        keep = [i for i in range(len(self.symbols)) if include_ghosts or i not in self.ghosts]
        atoms = Atoms([self.symbols[i] for i in keep], positions=[self.positions[i] for i in keep])
        atoms.info.update(charge=self.charge, multiplicity=self.multiplicity, name=self.name)
        return atoms

    @property
    def natoms(self) -> int:
        return len(self.symbols)

    @property
    def real_atoms(self) -> list[int]:
        """Indices of atoms that are not ghosts."""
        return [i for i in range(self.natoms) if i not in self.ghosts]

    @property
    def nelectrons(self) -> int:
        """Number of electrons: nuclear charges of real atoms minus the total charge."""
        return sum(atomic_numbers[self.symbols[i]] for i in self.real_atoms) - self.charge

    @property
    def formula(self) -> str:
        return self.to_atoms(include_ghosts=False).get_chemical_formula()

    def key(self) -> str:
        """Content hash (hex, 16 chars) of symbols, positions, charge, multiplicity, ghosts and
        (when there is one) the ONIOM model region."""
        fields = [self.symbols, self.positions, self.charge, self.multiplicity, sorted(self.ghosts)]
        return content_hash(fields + ([sorted(self.model)] if self.model else []), compact=True)

    def subset(self, indices: Sequence[int], charge: int, multiplicity: int,
               ghost_rest: bool = False, name: str = "") -> "Molecule":
        """A fragment made of ``indices``.

        With ``ghost_rest`` the other atoms stay, as ghosts (the fragment in the full basis).
        """
        if ghost_rest:
            rest = frozenset(range(self.natoms)) - frozenset(indices)
            return Molecule(self.symbols, self.positions, charge, multiplicity, rest, name,
                            self.model)
        model = frozenset(k for k, i in enumerate(indices) if i in self.model)
        return Molecule(tuple(self.symbols[i] for i in indices),
                        tuple(self.positions[i] for i in indices), charge, multiplicity,
                        frozenset(), name, model)

    def to_dict(self) -> dict:
        """JSON-friendly form (used in FireWorks specs)."""
        return {"symbols": list(self.symbols), "positions": [list(p) for p in self.positions],
                "charge": self.charge, "multiplicity": self.multiplicity,
                "ghosts": sorted(self.ghosts), "name": self.name,
                **({"model": sorted(self.model)} if self.model else {})}

    @classmethod
    def from_dict(cls, d: dict) -> "Molecule":
        mol = cls.from_arrays(d["symbols"], d["positions"], d["charge"], d["multiplicity"],
                              d.get("ghosts", ()), d.get("name", ""))
        return replace(mol, model=frozenset(d["model"])) if d.get("model") else mol

    def validate(self, source: str | None = None, first_atom_line: int | None = None
                 ) -> "Molecule":
        """Refuse unknown elements, overlapping atoms and charge/multiplicity that do not fit.

        Atoms are named 1-based; with ``first_atom_line`` (the file line of atom 1, 3 for an
        xyz file) an overlap also names the two atoms' lines and reports the second one's.

        Raises
        ------
        InputError
            naming ``source`` and the offending atoms or numbers.
        """
        label = source or self.name or "molecule"
        if self.natoms == 0:
            raise InputError("no atoms", label)
        for i, s in enumerate(self.symbols):
            if s not in atomic_numbers or s == "X":
                raise InputError(f"atom {i + 1}: unknown element symbol {s!r}", label)
        if self.multiplicity < 1:
            raise InputError(f"multiplicity must be >= 1, got {self.multiplicity}", label,
                             field="multiplicity")
        check_spin(self.nelectrons, self.charge, self.multiplicity, label)
        bad = np.flatnonzero(~np.isfinite(np.asarray(self.positions, float)).all(axis=1))
        if len(bad):
            raise InputError(f"atom {bad[0] + 1}: coordinates must be finite", label,
                             field="positions")
        real = self.real_atoms
        pos = np.asarray(self.positions)[real]
        if len(real) > 1:
            d = np.linalg.norm(pos[:, None, :] - pos[None, :, :], axis=-1)
            d[np.diag_indices_from(d)] = np.inf
            i, j = np.unravel_index(np.argmin(d), d.shape)
            if d[i, j] < MIN_DISTANCE_ANGSTROM:
                a, b = sorted((real[i], real[j]))
                where = ("" if first_atom_line is None else
                         f" on lines {a + first_atom_line} and {b + first_atom_line}")
                raise InputError(
                    f"atoms {a + 1} ({self.symbols[a]}) and {b + 1} ({self.symbols[b]}){where} "
                    f"are {d[i, j]:.3f} Å apart, closer than {MIN_DISTANCE_ANGSTROM} Å "
                    "(overlapping)", label,
                    None if first_atom_line is None else b + first_atom_line)
        return self


def check_spin(nelectrons: int, charge: int, multiplicity: int, label: str) -> None:
    """Raise if ``multiplicity`` cannot be reached with ``nelectrons`` electrons."""
    unpaired = multiplicity - 1
    if nelectrons < 0:
        raise InputError(f"charge {charge:+d} removes more electrons than there are", label,
                         field="charge")
    if (nelectrons - unpaired) % 2 != 0 or unpaired > nelectrons:
        raise InputError(
            f"charge {charge:+d} and multiplicity {multiplicity} do not fit: {nelectrons} electrons "
            f"cannot have {unpaired} unpaired (parity or count)", label, field="multiplicity")


def spin_range(multiplicities: list[int]) -> tuple[float, float]:
    """(S_min, S_max) of the total spin that fragments of these multiplicities can couple to
    (|S_A − S_B| ≤ S ≤ S_A + S_B, applied in turn; integer steps)."""
    spins = [(m - 1) / 2 for m in multiplicities]
    total = sum(spins)
    return max(0.0, 2 * max(spins) - total) if spins else 0.0, total


def check_spin_coupling(multiplicity: int, fragment_multiplicities: list[int],
                        label: str) -> None:
    """Raise unless a complex of ``multiplicity`` can be made from fragments of
    ``fragment_multiplicities``: its S must lie in :func:`spin_range` (a binding energy then
    compares the complex in that spin state with its fragments in theirs)."""
    lo, hi = spin_range(fragment_multiplicities)
    s = (multiplicity - 1) / 2
    if not lo - 1e-9 <= s <= hi + 1e-9 or abs((hi - s) - round(hi - s)) > 1e-9:
        frags = ", ".join(f"{(m - 1) / 2:g}" for m in fragment_multiplicities)
        raise InputError(f"multiplicity {multiplicity} (S = {s:g}) cannot be made from fragments "
                         f"of S = {frags}: coupled, they give S = {lo:g} … {hi:g} in integer "
                         f"steps (multiplicity {int(2 * lo + 1)} … {int(2 * hi + 1)})", label,
                         field="multiplicity")


def combined_charge_multiplicity(a: Molecule, b: Molecule, label: str = ""
                                 ) -> tuple[int, int]:
    """Charge and multiplicity of ``a`` and ``b`` together: charges add; unpaired electrons are
    parallel (m_a + m_b − 1). Raises InputError if that multiplicity does not fit the
    electron count."""
    charge, mult = a.charge + b.charge, a.multiplicity + b.multiplicity - 1
    check_spin(a.nelectrons + b.nelectrons, charge, mult, label or f"{a.name} + {b.name}")
    return charge, mult


def vdw_radius(symbols: list[str] | tuple[str, ...]) -> np.ndarray:
    """Van der Waals radii in Å (2.0 where ASE has none)."""
    r = np.array([vdw_radii[atomic_numbers[s]] for s in symbols], float)
    return np.where(np.isfinite(r), r, 2.0)


def bond_graph(symbols: Sequence[str], positions, scale: float = 1.2, cell=None
               ) -> list[set[int]]:
    """Neighbours of each atom: pairs closer than ``scale`` × (sum of covalent radii).

    With ``cell`` (3×3, Å) the structure is periodic in all three directions.
    """
    from ase.neighborlist import neighbor_list

    atoms = Atoms(list(symbols), positions=np.asarray(positions, float).reshape(-1, 3))
    if cell is not None:
        atoms.set_cell(cell)
        atoms.pbc = True
    cut = [scale * covalent_radii[atomic_numbers[s]] for s in symbols]
    graph: list[set[int]] = [set() for _ in symbols]
    for a, b in zip(*neighbor_list("ij", atoms, cut)):
        if a != b:
            graph[a].add(int(b))
    return graph


def connected_components(graph: list[set[int]], atoms: Sequence[int]) -> list[set[int]]:
    """Connected components (sets of atom indices) of ``graph`` restricted to ``atoms``."""
    todo, out = set(atoms), []
    while todo:
        stack, comp = [todo.pop()], set()
        while stack:
            i = stack.pop()
            comp.add(i)
            for j in graph[i]:
                if j in todo:
                    todo.discard(j)
                    stack.append(j)
        out.append(comp)
    return out


def bonded_pairs(mol: Molecule, scale: float = 1.2) -> list[tuple[int, int]]:
    """Pairs (i < j) of real atoms closer than ``scale`` × sum of covalent radii."""
    real = mol.real_atoms
    graph = bond_graph([mol.symbols[i] for i in real], np.asarray(mol.positions)[real], scale)
    return [(real[a], real[b]) for a, nb in enumerate(graph) for b in sorted(nb) if a < b]


def rotation_onto(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rotation matrix taking unit vector ``u`` onto unit vector ``v`` (a half-turn about an
    axis normal to ``u`` when they are opposite)."""
    c = float(u @ v)
    if c < -0.999999:
        axis = np.cross(u, [1.0, 0, 0] if abs(u[0]) < 0.9 else [0, 1.0, 0])
        axis /= np.linalg.norm(axis)
        return 2 * np.outer(axis, axis) - np.eye(3)
    k = _cross_matrix(np.cross(u, v))
    return np.eye(3) + k + k @ k / (1 + c)


def rotation_about(axis: np.ndarray, angle: float) -> np.ndarray:
    """Rotation matrix turning by ``angle`` (radians) about the unit vector ``axis``."""
    k = _cross_matrix(axis)
    return np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * k @ k


def _cross_matrix(w: np.ndarray) -> np.ndarray:
    """The matrix K with K @ x = w × x."""
    return np.array([[0, -w[2], w[1]], [w[2], 0, -w[0]], [-w[1], w[0], 0]])


def superpose(moving, target, subset: Sequence[int] | None = None) -> np.ndarray:
    """``moving`` positions (Å) rotated and translated so that their ``subset`` atoms (default
    all) best overlay the same atoms of ``target`` (Kabsch, proper rotations only)."""
    p, q = np.asarray(moving, float), np.asarray(target, float)
    idx = list(subset) if subset is not None else list(range(len(p)))
    cp, cq = p[idx].mean(axis=0), q[idx].mean(axis=0)
    u, _, vt = np.linalg.svd((p[idx] - cp).T @ (q[idx] - cq))
    d = np.sign(np.linalg.det(u @ vt))
    return (p - cp) @ (u @ np.diag([1.0, 1.0, d]) @ vt) + cq


def parse_xyz_header(comment: str) -> dict[str, str]:
    """``key=value`` pairs from an xyz comment line (extended-xyz style)."""
    out = {}
    for token in comment.split():
        if "=" in token:
            k, v = token.split("=", 1)
            out[k.strip().lower()] = v.strip().strip('"')
    return out


def read_xyz(path: str | Path, charge: int | None = None, multiplicity: int | None = None,
             name: str = "") -> Molecule:
    """Read a plain or extended xyz file, checking its format line by line.

    ``charge`` and ``multiplicity`` given here win over ``charge=``/``multiplicity=`` on the
    comment line; missing both, they default to 0 and 1.

    Raises
    ------
    InputError
        naming the file and line of a malformed record, an unknown element, overlapping
        atoms or a charge/multiplicity that does not fit the electron count.
    """
    path = Path(path)
    src = str(path)
    if not path.is_file():
        raise InputError("file not found", src)
    raw = path.read_bytes()
    try:
        lines = raw.decode("utf-8").splitlines()
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise InputError(f"not a text xyz file: byte 0x{raw[exc.start]:02x} at offset "
                         f"{exc.start} is not UTF-8 (a binary file?)", src, line) from None
    if not lines or not lines[0].strip():
        raise InputError("empty file: the first line must hold the number of atoms", src, 1)
    try:
        n = int(lines[0].split()[0])
    except ValueError:
        raise InputError(f"first line must be the number of atoms, got {lines[0].strip()!r}",
                         src, 1) from None
    if n <= 0:
        raise InputError(f"number of atoms must be positive, got {n}", src, 1)
    if len(lines) < n + 2:
        raise InputError(f"header says {n} atoms but the file has {max(len(lines) - 2, 0)} atom "
                         "lines", src, len(lines))
    header = parse_xyz_header(lines[1])
    symbols, positions = [], []
    for k in range(n):
        lineno = k + 3
        parts = lines[k + 2].split()
        if len(parts) < 4:
            raise InputError(f"expected 'symbol x y z', got {lines[k + 2].strip()!r}", src, lineno)
        sym = parts[0].capitalize() if parts[0].isalpha() else parts[0]
        if sym not in atomic_numbers or sym == "X":
            raise InputError(f"unknown element symbol {parts[0]!r}", src, lineno)
        try:
            xyz = [float(v) for v in parts[1:4]]
        except ValueError:
            raise InputError(f"coordinates must be numbers, got {' '.join(parts[1:4])!r}",
                             src, lineno) from None
        if not all(np.isfinite(xyz)):
            raise InputError("coordinates must be finite", src, lineno)
        symbols.append(sym)
        positions.append(xyz)
    extra = [ln for ln in lines[n + 2:] if ln.strip()]
    if extra:
        raise InputError(f"{len(extra)} non-empty line(s) after the {n} atoms declared on line 1",
                         src, n + 3)
    try:
        q = charge if charge is not None else int(header.get("charge", 0))
        m = multiplicity if multiplicity is not None else int(header.get("multiplicity", 1))
    except ValueError:
        raise InputError("charge= and multiplicity= on the comment line must be integers",
                         src, 2) from None
    mol = Molecule.from_arrays(symbols, positions, q, m, name=name or path.stem)
    return mol.validate(src, first_atom_line=3)


def read_cell(path: str | Path):
    """The conventional cell of a cif as a pymatgen ``Structure`` (pymatgen applies the
    symmetry operations strictly); InputError naming the file if it cannot be read."""
    import warnings

    from pymatgen.io.cif import CifParser

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return CifParser(path).parse_structures(primitive=False)[0]
    except Exception as exc:  # the parser raises many kinds for malformed files
        raise InputError(f"cannot read as cif: {exc}", str(path)) from None


def read_structure(path: str | Path, charge: int | None = None,
                   multiplicity: int | None = None, name: str = "") -> Molecule:
    """Read an xyz file (own parser), a cif (pymatgen) or any other format ASE reads (pdb, mol...).

    Periodic inputs (cif) come back as the atoms of one conventional cell, as a finite cluster.
    """
    path = Path(path)
    if path.suffix.lower() == ".xyz":
        return read_xyz(path, charge, multiplicity, name)
    if not path.is_file():
        raise InputError("file not found", str(path))
    import ase.io
    try:
        if path.suffix.lower() == ".cif":
            from pymatgen.io.ase import AseAtomsAdaptor

            atoms = AseAtomsAdaptor.get_atoms(read_cell(path))
        else:
            atoms = ase.io.read(path)
    except InputError:
        raise
    except Exception as exc:  # the readers raise many kinds for malformed files
        raise InputError(f"cannot read as {path.suffix.lstrip('.') or 'structure'}: {exc}",
                         str(path)) from None
    if len(atoms) == 0:
        raise InputError("no atoms", str(path))
    mol = Molecule.from_atoms(atoms, charge or 0, multiplicity or 1, name=name or path.stem)
    return mol.validate(str(path))


def write_xyz(mol: Molecule, path: str | Path, comment: str = "") -> None:
    """Write ``mol`` as extended xyz with charge and multiplicity on the comment line."""
    lines = [str(mol.natoms),
             f"charge={mol.charge} multiplicity={mol.multiplicity} {comment}".strip()]
    lines += [f"{s:<2s} {x:14.8f} {y:14.8f} {z:14.8f}"
              for s, (x, y, z) in zip(mol.symbols, mol.positions)]
    Path(path).write_text("\n".join(lines) + "\n")
