"""ONIOM(DFT:GFN2-xTB): DFT-quality energies of big hosts at a fraction of the cost.

The standard subtractive two-layer scheme (Svensson, Humbel, Froese, Matsubara, Sieber &
Morokuma, J. Phys. Chem. 1996):

    E = E_xTB(real) + E_DFT(model) − E_xTB(model)

*real* is the whole structure (its real atoms; ghost atoms carry basis functions, which GFN2-xTB
has none of); *model* is the high-level region, ``Molecule.model``, with every bond it cuts
capped by a hydrogen link atom on the bond, at ``g`` of the way from the inner to the outer
atom, g = (r_cov(inner) + r_cov(H)) / (r_cov(inner) + r_cov(outer)) (a C–C cut puts H at
1.09 Å × (1.52/1.52) scaling: 0.71 of a 1.54 Å bond, 1.09 Å). Ghost atoms inside the region
stay ghosts in the DFT part, and a link atom on a ghost atom is a ghost H, so a fragment in the
complex's basis sees the same basis functions as the complex (counterpoise stays balanced).

The region is chosen once, on a complex (:func:`model_region`): the guest (``core``) and every
atom within ``radius`` Å of it. It is then grown, never shrunk: a monovalent atom (H, halogen)
and the heavy atom it is bonded to are never parted, and any bond the region would cut that
should not be cut brings its outer atom in: a bond to a metal or an alkali ion, a multiple bond
(shorter than 0.92 × the sum of covalent radii), or a bond in a ring of up to 8 atoms. With
``extend=False`` such a cut is refused instead. With ``silanol=True`` a Si in the region
also brings in every O bonded to it, so each Si–O bond cut has its O inside and the link H
makes a silanol (Si–O–H, the usual termination of silicate clusters) instead of a silane
Si–H. Fragments and ghost partners made from the complex (``Molecule.subset``) carry the same
region.

The model is computed with the total charge and multiplicity of the structure (the charge is
taken to live in the region, as it does for an ion bound to a neutral host).

Gradients: E_xTB(real) gradient plus the model's DFT − xTB gradient, each link atom's share
projected onto its two atoms ((1 − g) inner, g outer).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np
from ase.data import atomic_numbers, covalent_radii

from ..errors import InputError
from ..geometry import Molecule, bond_graph
from ..methods import Method
from ..settings import Settings

MONOVALENT = frozenset({"H", "F", "Cl", "Br", "I"})
NOT_CUT = frozenset({"Li", "Na", "K", "Mg", "Ca", "Zn", "Cu", "Co", "Ni", "Fe", "Mn", "Cr",
                     "Zr", "Al", "Ti", "V", "Cd", "Ag"})
"""Elements whose bonds are never cut (coordination bonds: the partner joins the region)."""
MULTIPLE_BOND_RATIO = 0.92
"""A bond shorter than this × the sum of covalent radii counts as a multiple bond."""
SMALL_RING = 8


def link_ratio(inner: str, outer: str) -> float:
    """Where a link H sits on a cut inner–outer bond, as a fraction of its length."""
    r = lambda s: covalent_radii[atomic_numbers[s]]  # noqa: E731
    return (r(inner) + r("H")) / (r(inner) + r(outer))


def _in_small_ring(graph: list[set[int]], a: int, b: int) -> bool:
    """Whether bond a–b lies in a ring of at most ``SMALL_RING`` atoms."""
    frontier, seen = {a}, {a}
    for _ in range(SMALL_RING - 1):
        nxt = set()
        for i in frontier:
            for j in graph[i]:
                if (i, j) in ((a, b), (b, a)):
                    continue
                if j == b:
                    return True
                if j not in seen:
                    seen.add(j)
                    nxt.add(j)
        frontier = nxt
    return False


def _why_not_cut(mol: Molecule, graph: list[set[int]], i: int, j: int) -> str:
    """Why bond i–j may not be cut ('' if it may)."""
    si, sj = mol.symbols[i], mol.symbols[j]
    if si in NOT_CUT or sj in NOT_CUT:
        return f"a bond to {si if si in NOT_CUT else sj}"
    d = np.linalg.norm(np.subtract(mol.positions[i], mol.positions[j]))
    if "Si" not in (si, sj) and d < MULTIPLE_BOND_RATIO * (
            covalent_radii[atomic_numbers[si]] + covalent_radii[atomic_numbers[sj]]):
        return f"a multiple bond ({si}–{sj} {d:.2f} Å)"
    if _in_small_ring(graph, i, j):
        return f"a bond in a ring of at most {SMALL_RING} atoms"
    return ""


def model_region(mol: Molecule, core: list[int], radius: float, *, extend: bool = True,
                 source: str | None = None, silanol: bool = False) -> frozenset[int]:
    """The high-level region of ``mol`` around its ``core`` atoms (see the module doc);
    ``silanol``: a Si in the region takes in all its O, so a cut Si–O bond has its O inside
    (capped to a silanol).

    Raises InputError (field ``method.oniom.radius`` or ``.extend``) for an empty core, or for a
    cut the region may not make when ``extend`` is False.
    """
    if not core:
        raise InputError("the ONIOM region needs a guest to grow from: this structure has "
                         "none (give fragments, or place a guest)", source,
                         field="method.oniom.radius")
    pos = np.asarray(mol.positions)
    graph = bond_graph(mol.symbols, mol.positions)
    parent = {i: _parent(mol, graph, i) for i in range(mol.natoms)
              if mol.symbols[i] in MONOVALENT}
    near = np.linalg.norm(pos[:, None] - pos[core][None], axis=2).min(axis=1) <= radius
    region = set(core) | set(np.flatnonzero(near).tolist())
    while True:  # the region only grows, so this ends
        changed = False
        for i in sorted(region):
            for j in sorted(graph[i] - region):
                if parent.get(j) == i or parent.get(i) == j:
                    region.add(j)  # a monovalent atom and its heavy atom are never parted
                elif silanol and (mol.symbols[i], mol.symbols[j]) == ("Si", "O"):
                    region.add(j)  # the O joins; its cut to the next Si makes Si–O–H
                else:
                    why = _why_not_cut(mol, graph, i, j)
                    if not why:
                        continue
                    if not extend:
                        raise InputError(
                            f"the ONIOM region of {mol.name or mol.formula} would cut {why} "
                            f"(atoms {i}–{j}); give extend: true to grow the region over it, "
                            "or another radius", source, field="method.oniom.extend")
                    region.add(j)
                changed = True
                break
            if changed:
                break
        if not changed:
            return frozenset(region)


def joint_region(structures: tuple[Molecule, ...], core: list[int], radius: float, *,
                 extend: bool = True, source: str | None = None,
                 silanol: bool = False) -> frozenset[int]:
    """One region for several structures with the same atoms (a path's endpoints): the union
    of :func:`model_region` of each, closed over the bonds of all (no cut any of them forbids)."""
    options = {"extend": extend, "source": source, "silanol": silanol}
    region = frozenset().union(*(model_region(m, core, radius, **options) for m in structures))
    while True:  # closing the union in one structure may open a cut in another
        grown = region
        for m in structures:
            grown = model_region(m, sorted(grown), 0.0, **options)
        if grown == region:
            return region
        region = grown


def _parent(mol: Molecule, graph: list[set[int]], i: int) -> int | None:
    """The atom a monovalent atom is covalently bonded to: its nearest neighbour that is not a
    metal or alkali ion (an F that also touches Li⁺ belongs to its C)."""
    pos = np.asarray(mol.positions)
    cands = [j for j in graph[i] if mol.symbols[j] not in NOT_CUT]
    return min(cands, key=lambda j: np.linalg.norm(pos[i] - pos[j])) if cands else None


@dataclass(frozen=True)
class Layers:
    """The three calculations of one ONIOM energy and how to map their gradients back."""

    model: Molecule       # model atoms + link H (ghosts kept), for DFT
    model_low: Molecule   # its real atoms only, for GFN2-xTB
    real_low: Molecule    # the structure's real atoms, for GFN2-xTB
    model_atoms: tuple[int, ...]       # structure index of each model atom (links after them)
    links: tuple[tuple[int, int, float], ...]  # (inner, outer, g) per link atom
    model_low_atoms: tuple[int, ...]   # index into ``model`` of each ``model_low`` atom
    real_atoms: tuple[int, ...]        # structure index of each ``real_low`` atom


def layers(mol: Molecule) -> Layers:
    """The model (with link atoms) and the low-level systems of ``mol``'s ONIOM region."""
    if not mol.model:
        raise InputError(f"{mol.name or mol.formula}: no ONIOM region (Molecule.model) set",
                         field="method.oniom")
    pos = np.asarray(mol.positions)
    graph = bond_graph(mol.symbols, mol.positions)
    inside = sorted(mol.model)
    links = [(i, j, link_ratio(mol.symbols[i], mol.symbols[j]))
             for i in inside for j in sorted(graph[i]) if j not in mol.model]
    symbols = [mol.symbols[i] for i in inside] + ["H"] * len(links)
    positions = [pos[i] for i in inside] + [pos[i] + g * (pos[j] - pos[i]) for i, j, g in links]
    ghosts = {k for k, i in enumerate(inside) if i in mol.ghosts}
    ghosts |= {len(inside) + k for k, (i, _, _) in enumerate(links) if i in mol.ghosts}
    model = Molecule.from_arrays(symbols, positions, mol.charge, mol.multiplicity, ghosts,
                                 f"{mol.name} (model)")
    real_in_model = tuple(k for k in range(model.natoms) if k not in ghosts)
    model_low = model.subset(real_in_model, mol.charge, mol.multiplicity,
                             name=f"{mol.name} (model, low)")
    real = tuple(mol.real_atoms)
    real_low = mol.subset(real, mol.charge, mol.multiplicity, name=f"{mol.name} (real, low)")
    for part in (model, model_low, real_low):
        try:
            part.validate()
        except InputError as exc:
            raise InputError(f"{part.name}: {exc.message} (the region is computed with the "
                             "structure's charge and multiplicity)", field="method.oniom") from None
    return Layers(model, model_low, replace(real_low, model=frozenset()), tuple(inside),
                  tuple(links), real_in_model, real)


def compute_oniom(molecule: Molecule, method: Method, gradient: bool = False,
                  settings: Settings | None = None):
    """ONIOM(``method.high_level``:GFN2-xTB) single point of ``molecule`` (its ``model``
    region), as an :class:`~screening.engines.pyscf.EnergyResult` whose ``scf_plan`` records
    the three energies, the region and its link atoms."""
    from .pyscf import compute
    from .xtb import xtb_energy

    t0 = time.perf_counter()
    lay = layers(molecule)
    high = compute(lay.model, method.high_level, gradient=gradient, settings=settings)
    e_model_low, g_model_low = xtb_energy(lay.model_low, gradient)
    e_real_low, g_real_low = xtb_energy(lay.real_low, gradient)
    energy = e_real_low + high.energy - e_model_low
    grad = None
    if gradient:
        g = np.zeros((molecule.natoms, 3))
        g[list(lay.real_atoms)] += g_real_low
        diff = np.asarray(high.gradient, float)
        diff[list(lay.model_low_atoms)] -= g_model_low
        n = len(lay.model_atoms)
        g[list(lay.model_atoms)] += diff[:n]
        for k, (i, j, ratio) in enumerate(lay.links):
            g[i] += (1.0 - ratio) * diff[n + k]
            g[j] += ratio * diff[n + k]
        grad = g.tolist()
    plan = {**high.scf_plan, "oniom": {
        "E_dft_model": high.energy, "E_xtb_model": e_model_low, "E_xtb_real": e_real_low,
        "model_atoms": len(lay.model_atoms), "link_atoms": len(lay.links),
        "real_atoms": len(lay.real_atoms), "radius_A": method.oniom_radius}}
    return replace(high, energy=energy, gradient=grad, scf_plan=plan,
                   wall_s=time.perf_counter() - t0)
