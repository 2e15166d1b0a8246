"""Regenerate the curated geometries: the species library (shipped in the package,
``screening/data/species``) and the complexes of the quickstart (``structures/complexes``).

Every geometry is made from code, reproducibly:

* species: RDKit ETKDG (seed 7) + MMFF94 lowest conformer (TFSI⁻: lowest trans and lowest cis),
  then relaxed with geomeTRIC at B3LYP-D3(BJ)/def2-SVP with density fitting on grid level 3
  (the ``screening-grid3`` preset); single ions are atoms at the origin;
* complexes: Li⁺ put 1.85 Å from the carbonyl O along the C=O axis (carbonates), bidentate on
  two sulfonyl O (TFSI⁻, pre-relaxed with GFN2-xTB), or linear O–Li–O between two EC, then
  relaxed at the same level.

Usage (about an hour on one core; each file is written as soon as it is done)::

    .venv/bin/python structures/generate.py [NAME ...]

Files that exist are kept; with names (species or complexes), only those are made (again).
``generate.py --xtb-only NAME ...`` writes GFN2-xTB geometries of species, labelled as such. The comment line of each xyz records charge, multiplicity, fragments and provenance.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from screening.engines.pyscf import optimize
from screening.engines.xtb import xtb_relaxed
from screening.geometry import Molecule, bonded_pairs, write_xyz
from screening.methods import PRESETS
from screening.data import species_dir
from screening.species import build_from_smiles, get_species, tfsi_conformer

HERE = Path(__file__).resolve().parent
METHOD = PRESETS["screening-grid3"]  # the level the shipped structures were relaxed at
LEVEL = "B3LYP-D3BJ/def2-SVP(DF)"


def xtb_prerelaxed(mol: Molecule) -> Molecule:
    """GFN2-xTB (tblite) relaxation to 0.05 eV/Å: a cheap start for the DFT relaxation."""
    return xtb_relaxed(mol, steps=500)[0]


def relaxed(mol: Molecule, prerelax: bool = False) -> Molecule:
    t = time.time()
    if prerelax:
        mol = xtb_prerelaxed(mol)
    out, energy = optimize(mol, METHOD, max_steps=150)
    print(f"  relaxed {mol.name}: E = {energy:.8f} Eh in {time.time() - t:.0f} s", flush=True)
    return out


def species_geometry(name: str) -> Molecule:
    sp = get_species(name)
    confs = build_from_smiles(sp.smiles, sp.charge, sp.multiplicity, seed=7, name=sp.name)
    if sp.conformer:
        confs = [c for c in confs if tfsi_conformer(c) == sp.conformer] or confs
    mol = confs[0]
    # TFSI-cis: flat CF3 rotations, start DFT from a GFN2-xTB minimum (TFSI- was made without)
    return mol if mol.natoms == 1 else relaxed(mol, prerelax=name == "TFSI-cis")


def carbonyl(mol: Molecule) -> tuple[int, int]:
    """(O, C) of the carbonyl: the O bonded to exactly one atom, a C."""
    nbrs: dict[int, list[int]] = {}
    for a, b in bonded_pairs(mol):
        nbrs.setdefault(a, []).append(b)
        nbrs.setdefault(b, []).append(a)
    for i, s in enumerate(mol.symbols):
        if s == "O" and len(nbrs.get(i, [])) == 1 and mol.symbols[nbrs[i][0]] == "C":
            return i, nbrs[i][0]
    raise ValueError(f"{mol.name}: no carbonyl O")


def li_on_carbonyl(solvent: Molecule, distance: float = 1.85) -> np.ndarray:
    o, c = carbonyl(solvent)
    p = np.asarray(solvent.positions)
    u = (p[o] - p[c]) / np.linalg.norm(p[o] - p[c])
    return p[o] + distance * u


def complex_of(name: str, parts: list[tuple[str, Molecule]], charge: int) -> tuple[Molecule, str]:
    symbols, pos, frag = [], [], []
    for label, m in parts:
        start = len(symbols)
        symbols += list(m.symbols)
        pos += [list(x) for x in m.positions]
        end = len(symbols) - 1
        frag.append(f"{label}:{start}" if start == end else f"{label}:{start}-{end}")
    return Molecule.from_arrays(symbols, pos, charge, 1, name=name), ";".join(frag)


def li_solvent(name: str, solvent: Molecule) -> tuple[Molecule, str]:
    li = Molecule.from_arrays(["Li"], [li_on_carbonyl(solvent)], 1, 1, name="Li+")
    return complex_of(name, [("Li+", li), (solvent.name, solvent)], 1)


def li_ec2(ec: Molecule) -> tuple[Molecule, str]:
    """Li⁺ between two EC, O=C axes along ±x, Li at the origin."""
    o, c = carbonyl(ec)
    p = np.asarray(ec.positions)
    u = (p[o] - p[c]) / np.linalg.norm(p[o] - p[c])
    # rotate EC so that its C->O axis points along +x, then put O at (-1.9, 0, 0)
    target = np.array([1.0, 0.0, 0.0])
    v = np.cross(u, target)
    s, cth = np.linalg.norm(v), np.dot(u, target)
    vx = np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]])
    rot = np.eye(3) + vx + vx @ vx * ((1 - cth) / s**2) if s > 1e-8 else np.eye(3)
    q = (p - p[o]) @ rot.T
    left = q - np.array([1.9, 0.0, 0.0])
    right = -left  # inversion through the origin (C_i): second EC on +x
    ec_a = Molecule.from_arrays(ec.symbols, left, 0, 1, name="EC")
    ec_b = Molecule.from_arrays(ec.symbols, right, 0, 1, name="EC")
    li = Molecule.from_arrays(["Li"], [[0.0, 0.0, 0.0]], 1, 1, name="Li+")
    return complex_of("Li+(EC)2", [("Li+", li), ("EC", ec_a), ("(EC)2", ec_b)], 1)


def li_tfsi(tfsi: Molecule) -> tuple[Molecule, str]:
    """Li⁺ bidentate on the two closest sulfonyl O of different S."""
    p = np.asarray(tfsi.positions)
    nbrs = {i: [b for a, b in bonded_pairs(tfsi) if a == i] + [a for a, b in bonded_pairs(tfsi)
            if b == i] for i in range(tfsi.natoms)}
    s_atoms = [i for i, x in enumerate(tfsi.symbols) if x == "S"]
    o_of = {s: [j for j in nbrs[s] if tfsi.symbols[j] == "O"] for s in s_atoms}
    o1, o2 = min(((a, b) for a in o_of[s_atoms[0]] for b in o_of[s_atoms[1]]),
                 key=lambda ab: np.linalg.norm(p[ab[0]] - p[ab[1]]))
    mid = 0.5 * (p[o1] + p[o2])
    n = [i for i, x in enumerate(tfsi.symbols) if x == "N"][0]
    away = mid - p[n]
    away /= np.linalg.norm(away)
    half = 0.5 * np.linalg.norm(p[o1] - p[o2])
    li_pos = mid + away * np.sqrt(max(1.95**2 - half**2, 0.8))
    li = Molecule.from_arrays(["Li"], [li_pos], 1, 1, name="Li+")
    return complex_of("LiTFSI", [("Li+", li), ("TFSI-", tfsi)], 0)


def main(only: list[str]) -> None:
    """Make every missing file, quickstart structures first; with names, make just those."""
    sp_dir, cx_dir = species_dir(), HERE / "complexes"
    sp_dir.mkdir(exist_ok=True)
    cx_dir.mkdir(exist_ok=True)
    made: dict[str, Molecule] = {}

    def species(name: str) -> Molecule:
        sp = get_species(name)
        path = sp_dir / sp.file
        if name not in made:
            if path.exists() and name not in only:
                made[name] = sp.molecule()
            elif only and name not in only:
                raise SystemExit(f"{name} is needed first: run generate.py {name}")
            else:
                print(f"species {name}", flush=True)
                made[name] = species_geometry(name)
                how = "GFN2-xTB -> " if name == "TFSI-cis" else ""
                write_xyz(made[name], path, f'name={name} smiles="{sp.smiles}" '
                          f'source="RDKit ETKDG seed 7 + MMFF94 -> {how}geomeTRIC {LEVEL}"')
        return made[name]

    def complex_(name: str, build) -> None:
        fname = name.replace("+", "_").replace("(", "").replace(")", "") + ".xyz"
        if (cx_dir / fname).exists() and name not in only:
            return
        print(f"complex {name}", flush=True)
        mol, fragments = build()
        prerelax = name == "LiTFSI"  # flat CF3 rotations: start DFT from a GFN2-xTB minimum
        how = "GFN2-xTB -> " if prerelax else ""
        write_xyz(relaxed(mol, prerelax), cx_dir / fname, f'name={name} fragments="{fragments}" '
                  f'source="built by structures/generate.py -> {how}geomeTRIC {LEVEL}"')

    complexes = {
        "Li+EC": lambda: li_solvent("Li+EC", species("EC")),
        "Li+DMC": lambda: li_solvent("Li+DMC", species("DMC")),
        "Li+PC": lambda: li_solvent("Li+PC", species("PC")),
        "Li+DEC": lambda: li_solvent("Li+DEC", species("DEC")),
        "Li+(EC)2": lambda: li_ec2(species("EC")),
        "LiTFSI": lambda: li_tfsi(species("TFSI-")),
    }
    quickstart = ["Li+", "Na+", "K+", "H2O", "EC", "DMC", "PC", "DEC", "TFSI-"]
    rest = ["FEC", "PF6-", "TFSI-cis"]
    if only:
        for name in only:
            if name in complexes:
                complex_(name, complexes[name])
            else:
                species(name)
        return
    for name in quickstart:
        species(name)
    for name, build in complexes.items():
        complex_(name, build)
    for name in rest:
        species(name)


def xtb_only(names: list[str]) -> None:
    """Write GFN2-xTB geometries (no DFT relaxation) for ``names``, labelled as such."""
    for name in names:
        if name == "LiTFSI":
            mol, fragments = li_tfsi(get_species("TFSI-").molecule())
            write_xyz(xtb_prerelaxed(mol), HERE / "complexes" / "LiTFSI.xyz",
                      f'name=LiTFSI fragments="{fragments}" source="built by '
                      'structures/generate.py -> GFN2-xTB only (DFT relaxation not run)"')
            print("complex LiTFSI: GFN2-xTB geometry written", flush=True)
            continue
        sp = get_species(name)
        confs = build_from_smiles(sp.smiles, sp.charge, sp.multiplicity, seed=7, name=sp.name)
        if sp.conformer:
            confs = [c for c in confs if tfsi_conformer(c) == sp.conformer] or confs
        mol = xtb_prerelaxed(confs[0])
        write_xyz(mol, species_dir() / sp.file, f'name={name} smiles="{sp.smiles}" '
                  'source="RDKit ETKDG seed 7 + MMFF94 -> GFN2-xTB only (DFT relaxation not run)"')
        print(f"species {name}: GFN2-xTB geometry written", flush=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--xtb-only"]:
        xtb_only(sys.argv[2:])
    else:
        main(sys.argv[1:])
