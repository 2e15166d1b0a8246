"""The built-in library of guests and ions: charge, multiplicity, SMILES and geometry.

Geometries ship inside the package (``screening/data/species/<file>.xyz``) and were made reproducibly by
``structures/generate.py``: RDKit ETKDG (fixed seed) + MMFF94 for a start, then relaxed with
geomeTRIC at the screening level (B3LYP-D3(BJ)/def2-SVP, density fitting). The comment line of
each file records how it was made. :func:`build_from_smiles` is the first step, exposed for
users who bring their own molecules.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .data import species_dir
from .errors import InputError
from .geometry import Molecule, read_xyz


@dataclass(frozen=True)
class Species:
    """A library entry.

    Attributes
    ----------
    name : canonical name, e.g. ``Li+``, ``TFSI-``, ``PC``.
    smiles : SMILES (charged where the species is an ion).
    charge, multiplicity : total charge (e) and 2S+1.
    file : xyz file name in the package's ``data/species``.
    description : what it is, for people.
    aliases : other accepted names.
    conformer : for multi-conformer species, which one (e.g. ``trans`` (C2) / ``cis`` (C1) TFSI⁻).
    """

    name: str
    smiles: str
    charge: int
    multiplicity: int
    file: str
    description: str
    aliases: tuple[str, ...] = ()
    conformer: str = ""

    def molecule(self) -> Molecule:
        """The curated geometry as a validated :class:`Molecule`."""
        path = species_dir() / self.file
        mol = read_xyz(path, self.charge, self.multiplicity, name=self.name)
        return mol


LIBRARY: tuple[Species, ...] = (
    Species("Li+", "[Li+]", 1, 1, "li.xyz", "lithium cation", ("Li", "li+", "lithium")),
    Species("Na+", "[Na+]", 1, 1, "na.xyz", "sodium cation", ("Na", "na+", "sodium")),
    Species("K+", "[K+]", 1, 1, "k.xyz", "potassium cation", ("K", "k+", "potassium")),
    Species("TFSI-", "FC(F)(F)S(=O)(=O)[N-]S(=O)(=O)C(F)(F)F", -1, 1, "tfsi_trans.xyz",
            "bis(trifluoromethanesulfonyl)imide, transoid (C2) conformer",
            ("TFSI", "tfsi-", "TFSI-trans", "tfsi", "NTf2-"), "trans"),
    Species("TFSI-cis", "FC(F)(F)S(=O)(=O)[N-]S(=O)(=O)C(F)(F)F", -1, 1, "tfsi_cis.xyz",
            "bis(trifluoromethanesulfonyl)imide, cisoid (C1) conformer", ("tfsi-cis",), "cis"),
    Species("PF6-", "F[P-](F)(F)(F)(F)F", -1, 1, "pf6.xyz", "hexafluorophosphate",
            ("PF6", "pf6-", "pf6")),
    Species("PC", "CC1COC(=O)O1", 0, 1, "pc.xyz", "propylene carbonate", ("pc",)),
    Species("EC", "O=C1OCCO1", 0, 1, "ec.xyz", "ethylene carbonate", ("ec",)),
    Species("DMC", "COC(=O)OC", 0, 1, "dmc.xyz", "dimethyl carbonate", ("dmc",)),
    Species("DEC", "CCOC(=O)OCC", 0, 1, "dec.xyz", "diethyl carbonate", ("dec",)),
    Species("FEC", "O=C1OCC(F)O1", 0, 1, "fec.xyz", "fluoroethylene carbonate", ("fec",)),
    Species("H2O", "O", 0, 1, "h2o.xyz", "water", ("water", "h2o")),
)

_BY_NAME = {n: s for s in LIBRARY for n in (s.name, *s.aliases)}


def species_names() -> list[str]:
    """Canonical names of every library species."""
    return [s.name for s in LIBRARY]


def get_species(name: str) -> Species:
    """The library entry called ``name`` (or one of its aliases).

    Raises
    ------
    InputError
        for an unknown name, listing the known ones.
    """
    try:
        return _BY_NAME[name]
    except KeyError:
        raise InputError(f"unknown species {name!r}; the library has: "
                         f"{', '.join(species_names())}") from None


def build_from_smiles(smiles: str, charge: int = 0, multiplicity: int = 1, seed: int = 7,
                      n_conformers: int = 20, name: str = "") -> list[Molecule]:
    """Conformers from SMILES: RDKit ETKDG (``seed``) + MMFF94, sorted by MMFF energy, distinct.

    Single atoms come back at the origin.
    """
    from rdkit import Chem
    from rdkit.Chem import AllChem

    rdmol = Chem.MolFromSmiles(smiles)
    if rdmol is None:
        raise InputError(f"RDKit cannot parse SMILES {smiles!r}")
    rdmol = Chem.AddHs(rdmol)
    symbols = [a.GetSymbol() for a in rdmol.GetAtoms()]
    if len(symbols) == 1:
        return [Molecule.from_arrays(symbols, [[0.0, 0.0, 0.0]], charge, multiplicity, name=name)]
    params = AllChem.ETKDGv3()
    params.randomSeed = seed
    ids = list(AllChem.EmbedMultipleConfs(rdmol, n_conformers, params))
    if not ids:  # long flexible chains: start from random coordinates instead
        params.useRandomCoords = True
        ids = list(AllChem.EmbedMultipleConfs(rdmol, n_conformers, params))
    if not ids:
        raise InputError(f"RDKit could not embed {smiles!r}")
    energies = [e for _, e in AllChem.MMFFOptimizeMoleculeConfs(rdmol, maxIters=5000)]
    out: list[Molecule] = []
    for cid in sorted(ids, key=lambda c: energies[c]):
        pos = rdmol.GetConformer(cid).GetPositions()
        mol = Molecule.from_arrays(symbols, pos, charge, multiplicity, name=name)
        if all(_rmsd_sorted(mol, m) > 0.05 for m in out):
            out.append(mol)
    return out


def _rmsd_sorted(a: Molecule, b: Molecule) -> float:
    """Crude invariant distance between two conformers: RMS of sorted interatomic distances (Å)."""
    def dists(m: Molecule) -> np.ndarray:
        p = np.asarray(m.positions)
        d = np.linalg.norm(p[:, None] - p[None], axis=-1)
        return np.sort(d[np.triu_indices(len(p), 1)])
    return float(np.sqrt(np.mean((dists(a) - dists(b)) ** 2)))


def dihedral(mol: Molecule, i: int, j: int, k: int, m: int) -> float:
    """Dihedral angle i–j–k–m in degrees (−180, 180]."""
    p = np.asarray(mol.positions)
    b0, b1, b2 = p[i] - p[j], p[k] - p[j], p[m] - p[k]
    b1 /= np.linalg.norm(b1)
    v = b0 - np.dot(b0, b1) * b1
    w = b2 - np.dot(b2, b1) * b1
    return float(np.degrees(np.arctan2(np.dot(np.cross(b1, v), w), np.dot(v, w))))


def tfsi_conformer(mol: Molecule) -> str:
    """``trans`` (C–S···S–C dihedral > 120°, the C2 form) or ``cis`` for a TFSI⁻ geometry."""
    s = [i for i, x in enumerate(mol.symbols) if x == "S"]
    c = [min((i for i, x in enumerate(mol.symbols) if x == "C"),
             key=lambda i: np.linalg.norm(np.subtract(mol.positions[i], mol.positions[sj])))
         for sj in s]
    return "trans" if abs(dihedral(mol, c[0], s[0], s[1], c[1])) > 120 else "cis"
