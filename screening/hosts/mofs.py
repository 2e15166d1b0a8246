"""MOFs: periodic cells from space-group data, checked, and finite cluster models carved from them.

Cells (asymmetric units in ``CELLS``; see structures/SOURCES.md):

* HKUST-1, Cu₃(BTC)₂, Fm-3m, a = 26.343 Å (Chui et al., Science 1999; dehydrated, H riding on C).
* ZIF-8, Zn(mIm)₂, I-43m, a = 16.991 Å (Park et al., PNAS 2006); the disordered methyl H of the
  paper replaced by one ordered set (C–H 1.09 Å) so the cell keeps its symmetry.

Cluster models (:func:`carve`): the metal nodes nearest a chosen centre, every linker bound to
them, and the bonds cut to the rest of the framework capped with H, in one of two ways:

* ``protonate``: the donor atom that lost its metal gets an H along the old bond (ZIF-8:
  imidazolate → imidazole, [Zn(mImH)₄]²⁺; silica: Si–O⁻ → silanol);
* ``truncate``: the coordinating group that lost its metal is removed and the carbon it hung from
  gets an H (HKUST-1: BTC³⁻ → benzoate, Cu₂(PhCOO)₄).

Charge bookkeeping: Σ metal oxidation states + Σ linker charges (BTC −3, mIm −1, O −2) + 1 per
protonated donor + 1 per truncated carboxylate. Spin: Cu(II) is d⁹ with one unpaired electron; by
default a cluster with n Cu is high-spin (multiplicity n + 1; the Cu₂ paddlewheel is a triplet).
Its ground state is the antiferromagnetically coupled open-shell singlet (J ≈ −300 cm⁻¹, a few
meV lower), which Kohn–Sham DFT can only reach through broken symmetry: the triplet is the usual
proxy for adsorption energies. Zn(II) is d¹⁰: singlet.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..geometry import Molecule
from ..geometry import bond_graph, connected_components
from ..specs import Host, Site
from .analysis import enclosure, surface_and_donor_sites


@dataclass(frozen=True)
class CellSpec:
    """Space group, cubic lattice constant (Å), asymmetric unit and what the cell must be."""

    spacegroup: str
    a: float
    species: tuple[str, ...]
    coords: tuple[tuple[float, float, float], ...]
    formula: str  # of the conventional cell
    bonds: dict  # (A, B) → (min, max) Å that every such bond must fall in
    metal_charge: dict
    linker_charge: dict  # linker formula → charge
    cap: str
    pores: dict  # name → (fractional centre, largest included sphere Å)


CELLS = {
    "HKUST-1": CellSpec(
        "Fm-3m", 26.343, ("Cu", "O", "C", "C", "C", "H"),
        ((0.2853, 0.2853, 0.0), (0.3166, 0.2431, 0.9478), (0.2968, 0.2032, 0.9313),
         (0.3220, 0.1780, 0.8870), (0.3655, 0.1994, 0.8655), (0.3802, 0.2280, 0.8802)),
        "C288H96Cu48O192", {("Cu", "O"): (1.90, 2.00), ("Cu", "Cu"): (2.55, 2.70)},
        {"Cu": 2}, {"C9H3O6": -3}, "truncate",
        {"large_A": ((0.0, 0.0, 0.0), 13.2), "large_B": ((0.5, 0.0, 0.0), 11.1),
         "pocket": ((0.25, 0.25, 0.25), 5.6), "window_AB": ((0.25, 0.0, 0.0), 0.0)}),
    "ZIF-8": CellSpec(
        "I-43m", 16.991, ("Zn", "N", "C", "C", "H", "C", "H", "H"),
        ((0.5, 0.0, 0.75), (0.40973, 0.96832, 0.68278), (0.37705, 0.00790, 0.62295),
         (0.36851, 0.89914, 0.68750), (0.37770, 0.85890, 0.72340), (0.40610, 0.08550, 0.59390),
         (0.3747, 0.1308, 0.6253), (0.4694, 0.0912, 0.6046)),
        "C96H120N48Zn12", {("Zn", "N"): (1.95, 2.05)},
        {"Zn": 2}, {"C4H5N2": -1}, "protonate",
        {"sodalite": ((0.0, 0.0, 0.0), 11.5), "ring4": ((0.5, 0.0, 0.0), 0.0),
         "ring6": ((0.25, 0.25, 0.25), 0.0)}),
}

# named cluster models: (centre: a pore name of the cell, number of metal nodes)
CLUSTERS = {
    "HKUST-1": {"paddlewheel": ("large_A", 1), "two-paddlewheels": ("pocket", 2),
                "window": ("window_AB", 4)},
    "ZIF-8": {"node": ("sodalite", 1), "ring4": ("ring4", 4), "ring6": ("ring6", 6),
              "ring4-neutral": ("ring4", 4), "ring6-neutral": ("ring6", 6),
              "sodalite-neutral": ("sodalite", 24)},
}
NEUTRAL_SUFFIX = "-neutral"
"""A named cluster ending so is capped ``neutral`` (see :func:`carve`) instead of the cell's cap."""
XH_LENGTH = {"C": 1.09, "N": 1.01, "O": 0.97}


def build_cell(name: str):
    """The conventional cell of MOF ``name`` as a pymatgen ``Structure``, checked.

    Raises InputError if the formula or any listed bond length is off (wrong data, not user input).
    """
    from pymatgen.core import Composition, Lattice, Structure

    spec = CELLS[name]
    s = Structure.from_spacegroup(spec.spacegroup, Lattice.cubic(spec.a), list(spec.species),
                                  [list(c) for c in spec.coords])
    if s.composition != Composition(spec.formula):
        raise InputError(f"{name}: cell has {s.composition.formula}, expected {spec.formula}")
    for (a, b), (lo, hi) in spec.bonds.items():
        d = bond_lengths(s, a, b, hi + 0.3)
        if not len(d) or d.min() < lo or d.max() > hi:
            raise InputError(f"{name}: {a}–{b} bonds {d.min() if len(d) else None} .. "
                             f"{d.max() if len(d) else None} Å outside {lo}–{hi} Å")
    return s


def bond_lengths(structure, a: str, b: str, cutoff: float) -> np.ndarray:
    """All a–b distances (Å) shorter than ``cutoff`` in a periodic structure."""
    out = []
    for i, site in enumerate(structure):
        if site.specie.symbol != a:
            continue
        for nb in structure.get_neighbors(site, cutoff):
            if nb.specie.symbol == b:
                out.append(nb.nn_distance)
    return np.array(out)


def _neighbourhood(structure, centre_frac, radius: float) -> tuple[list[str], np.ndarray]:
    """Atoms (symbols, Cartesian Å relative to the centre) of the periodic crystal within
    ``radius`` of the centre: a finite piece to carve from."""
    lat = structure.lattice
    centre = lat.get_cartesian_coords(centre_frac)
    reps = [int(np.ceil(radius / lat.abc[k])) + 1 for k in range(3)]
    frac = np.array(structure.frac_coords)
    syms = [s.specie.symbol for s in structure]
    out_s, out_p = [], []
    for shift in np.ndindex(*(2 * r + 1 for r in reps)):
        sh = np.array(shift) - reps
        cart = lat.get_cartesian_coords(frac + sh) - centre
        near = np.linalg.norm(cart, axis=1) < radius
        out_s += [syms[i] for i in np.flatnonzero(near)]
        out_p.append(cart[near])
    return out_s, np.concatenate(out_p)


def carve(structure, centre_frac, n_nodes: int, metal_charge: dict,
          linker_charge: dict | None, cap: str, name: str = "cluster",
          charge: int | None = None) -> tuple[Molecule, dict]:
    """A finite cluster: the ``n_nodes`` metal nodes nearest ``centre_frac`` and their linkers.

    Metals closer than 3.0 Å to each other form one node (the Cu₂ paddlewheel). Returns the
    molecule (centred on the carving centre, charge set, high-spin multiplicity) and a
    bookkeeping dict. See the module docstring for ``cap``. With ``linker_charge`` None (a
    user's cell, whose linkers have no charge on record) the cluster's ``charge`` is given.
    """
    if linker_charge is None and (charge is None or cap == "neutral"):
        raise InputError(f"{name}: without linker charges the cluster's charge must be given, "
                         "and neutral caps cannot be chosen", field="charge")
    syms, pos = _neighbourhood(structure, centre_frac, 14.0 + 4.0 * n_nodes ** (1 / 3))
    metals = [i for i, s in enumerate(syms) if s in metal_charge]
    near = sorted(metals, key=lambda i: np.linalg.norm(pos[i]))
    reach = np.linalg.norm(pos[near[min(len(near) - 1, 2 * n_nodes + 1)]]) + 3.5
    nodes = _metal_nodes(pos, [i for i in near if np.linalg.norm(pos[i]) <= reach])
    # only what the kept nodes and their linkers can reach (linkers span < 10 Å)
    inside = np.linalg.norm(pos, axis=1) <= reach + 10.0
    index = {old: new for new, old in enumerate(np.flatnonzero(inside))}
    syms, pos = [syms[i] for i in index], pos[inside]
    metals = [index[i] for i in metals if i in index]
    nodes = [[index[i] for i in n] for n in nodes]
    graph = bond_graph(syms, pos)
    dist = [np.linalg.norm(pos[n].mean(axis=0)) for n in nodes]
    chosen = sorted(range(len(nodes)), key=lambda k: (round(dist[k], 3), k))[:n_nodes]
    kept_metals = {i for k in chosen for i in nodes[k]}
    organic = [set(g) - set(metals) for g in graph]
    linkers = connected_components(organic, [i for i in range(len(syms)) if i not in metals])
    kept_linkers = [c for c in linkers if any(graph[i] & kept_metals for i in c)]
    keep = set(kept_metals).union(*kept_linkers) if kept_linkers else set(kept_metals)
    lost = {i: [m for m in graph[i] if m in metals and m not in kept_metals] for i in keep}
    book = {"metal_nodes": n_nodes, "metals": len(kept_metals), "linkers": len(kept_linkers),
            "protonated": 0, "truncated": 0, "cap": cap}
    given, charge = charge, sum(metal_charge[syms[i]] for i in kept_metals)
    for comp in kept_linkers if linker_charge is not None else []:
        formula = _formula([syms[i] for i in comp])
        if formula not in linker_charge:
            raise InputError(f"{name}: linker {formula} has no charge on record")
        charge += linker_charge[formula]
    caps: list[tuple[int, int]] = []  # (atom that gets an H, atom it points to)
    removed: set[int] = set()
    if cap in ("protonate", "neutral"):  # donors that lost their metal get an H along the bond
        caps = [(i, m) for i in sorted(keep) for m in lost[i]]
        if cap == "neutral":
            node_of = {i: k for k in chosen for i in nodes[k]}
            caps = _neutralising_caps(caps, charge, pos, graph, kept_linkers, node_of,
                                      {k: sum(metal_charge[syms[i]] for i in nodes[k])
                                       for k in chosen}, linker_charge, syms, name)
            book["left_anionic"] = sum(len(lost[i]) for i in keep) - len(caps)
        book["protonated"] = len(caps)
    else:  # truncate: drop each group that lost its metal, cap the carbon it hung from
        donors = {i for i in keep if lost[i]}
        groups = {c for i in donors for c in graph[i]
                  if c in keep and len(graph[c] & donors) >= 2}
        removed = donors | groups
        caps = [(j, c) for c in sorted(groups) for j in graph[c]
                if j in keep and j not in removed]
        book["truncated"] = len(groups)
    charge += book["truncated"] if cap == "truncate" else len(caps)
    if given is not None:
        charge = given
    kept = sorted(keep - removed)
    new_sym = [syms[i] for i in kept] + ["H"] * len(caps)
    new_pos = [pos[i] for i in kept]
    for i, j in caps:
        u = (pos[j] - pos[i]) / np.linalg.norm(pos[j] - pos[i])
        new_pos.append(pos[i] + XH_LENGTH[syms[i]] * u)
    n_cu = sum(1 for i in kept_metals if syms[i] == "Cu")
    mult = n_cu + 1
    book.update(charge=charge, multiplicity=mult,
                spin="high-spin Cu(II) d9, one unpaired electron per Cu" if n_cu else
                "closed shell")
    mol = Molecule.from_arrays(new_sym, np.array(new_pos), charge, mult, name=name)
    return mol.validate(name), book


def _neutralising_caps(caps: list[tuple[int, int]], charge: int, pos: np.ndarray,
                       graph: list[set[int]], linkers: list[set[int]], node_of: dict[int, int],
                       node_charge: dict[int, float], linker_charge: dict, syms: list[str],
                       name: str) -> list[tuple[int, int]]:
    """The subset of ``caps`` (donor, lost metal) to protonate so that the cluster, of charge
    ``charge`` before capping, ends neutral. Each node's local charge (its metals plus an equal
    share of every linker bound to it) is kept as near zero as it goes: each proton goes to a
    cut donor on the most negative node, ties broken by distance from the protons already
    placed (spread out). Raises InputError when zero cannot be reached."""
    need = -charge
    if need < 0 or need > len(caps):
        raise InputError(f"{name}: charge {charge:+d} before capping cannot be brought to zero "
                         f"with {len(caps)} cut donors (protons only add charge)")
    local = dict(node_charge)
    linker_nodes = []
    for comp in linkers:
        owners = sorted({node_of[j] for i in comp for j in graph[i] if j in node_of})
        linker_nodes.append(owners)
        share = linker_charge[_formula([syms[i] for i in comp])] / len(owners)
        for k in owners:
            local[k] += share
    owners_of = {i: linker_nodes[n] for n, comp in enumerate(linkers) for i in comp}
    chosen: list[tuple[int, int]] = []
    todo = list(caps)
    for _ in range(need):
        def priority(c: tuple[int, int]) -> tuple:
            spread = min((np.linalg.norm(pos[c[0]] - pos[d]) for d, _ in chosen), default=0.0)
            return (min(local[k] for k in owners_of[c[0]]), -round(spread, 3), c)
        best = min(todo, key=priority)
        todo.remove(best)
        chosen.append(best)
        for k in owners_of[best[0]]:
            local[k] += 1.0 / len(owners_of[best[0]])
    return sorted(chosen)


def _metal_nodes(pos: np.ndarray, metals: list[int]) -> list[list[int]]:
    """Metals grouped into nodes: those within 3.0 Å of each other."""
    groups: list[list[int]] = []
    for i in metals:
        for g in groups:
            if any(np.linalg.norm(pos[i] - pos[j]) < 3.0 for j in g):
                g.append(i)
                break
        else:
            groups.append([i])
    return groups


def _formula(symbols: list[str]) -> str:
    from ase import Atoms

    return Atoms(symbols).get_chemical_formula(mode="hill")


CAPS = ("protonate", "truncate", "neutral")
ENCLOSED_PORE = 0.9
"""A cluster whose atoms meet at least this fraction of the rays from its pore centre encloses
the pore (site ``endo``); otherwise the nodes around the centre frame a ``window``."""


def mof_cluster(mof: str, cluster: str | None = None, nodes: int | None = None,
                centre: str | None = None, multiplicity: int | None = None,
                cap: str | None = None) -> Host:
    """A cluster model of ``mof`` as a :class:`Host`.

    cluster : a named model (``CLUSTERS``); or give ``nodes`` and ``centre`` (a pore name).
    multiplicity : override the default high-spin state (checked for parity).
    cap : how cut bonds are capped (``CAPS``; default the cell's, ``neutral`` for the named
        ``*-neutral`` clusters): see :func:`carve`.
    """
    spec = CELLS[mof]
    names = CLUSTERS[mof]
    if cluster is None and nodes is None:
        cluster = next(iter(names))
    if cluster is not None:
        if cluster not in names:
            raise InputError(f"{mof} has no cluster model {cluster!r}; it has: "
                             f"{', '.join(names)} (or give nodes: and centre:)", field="cluster")
        centre, nodes = names[cluster]
        if cluster.endswith(NEUTRAL_SUFFIX) and cap is None:
            cap = "neutral"
    centre = centre or next(iter(spec.pores))
    if centre not in spec.pores:
        raise InputError(f"{mof} has no pore {centre!r}; it has: {', '.join(spec.pores)}",
                         field="centre")
    if cap is not None and cap not in CAPS:
        raise InputError(f"cap must be one of {', '.join(CAPS)}, not {cap!r}", field="cap")
    cap = cap or spec.cap
    label = f"{mof}-{cluster or f'{nodes}nodes-{centre}'}"
    if cap != spec.cap and not (cluster or "").endswith(NEUTRAL_SUFFIX):
        label += f"-{cap}"
    mol, book = carve(build_cell(mof), spec.pores[centre][0], nodes, spec.metal_charge,
                      spec.linker_charge, cap, label)
    if multiplicity is not None:
        mol = Molecule(mol.symbols, mol.positions, mol.charge, multiplicity, name=label)
        mol.validate(label)
        book["multiplicity"] = multiplicity
        book["spin"] = f"multiplicity {multiplicity} (chosen by the user)"
    sites = _cluster_sites(mol, centre, spec)
    info = {"source": f"{mof} cell ({spec.spacegroup}, a = {spec.a} Å) carved by "
                      f"screening.hosts.mofs.carve", "centre": centre, "atoms": mol.natoms,
            "cut": _cut_sentence(book), **book}
    return Host(label, mol, sites, info, frozen=True)


def largest_pore(structure, grid: int = 16) -> tuple[np.ndarray, float]:
    """Fractional centre and diameter (Å) of the largest empty sphere in a periodic cell:
    the van der Waals clearance on a ``grid``³ mesh of the cell, the best point then refined."""
    from scipy.optimize import minimize

    from ..geometry import vdw_radius
    from .analysis import clearance

    lat = structure.lattice
    syms = [s.specie.symbol for s in structure]
    shifts = np.array(list(np.ndindex(3, 3, 3))) - 1
    cart = lat.get_cartesian_coords((np.asarray(structure.frac_coords)[None] +
                                     shifts[:, None]).reshape(-1, 3))
    radii = np.tile(vdw_radius(syms), len(shifts))
    mesh = (np.array(list(np.ndindex(grid, grid, grid))) + 0.5) / grid
    values = np.concatenate([clearance(lat.get_cartesian_coords(mesh[k:k + 256]), cart, radii)
                             for k in range(0, len(mesh), 256)])
    best = mesh[int(np.argmax(values))]
    res = minimize(lambda f: -clearance(lat.get_cartesian_coords(f), cart, radii)[0], best,
                   method="Nelder-Mead", options={"xatol": 1e-4, "fatol": 1e-4})
    return np.mod(res.x, 1.0), 2.0 * float(-res.fun)


def cif_cluster(path, charge: int, multiplicity: int, nodes: int = 1,
                centre: list[float] | None = None, cap: str = "protonate",
                name: str = "") -> Host:
    """A cluster carved from a user's cif as the library MOFs are (:func:`carve`): the
    ``nodes`` metal nodes nearest ``centre`` (fractional; default the cell's largest pore),
    their linkers, cut bonds capped by ``cap`` (protonate or truncate). The cluster's charge
    and multiplicity are the user's (its linkers have no charges on record); parity checked.
    """
    from ..geometry import read_cell
    from .analysis import METALS, open_metal_site

    structure = read_cell(path)
    metals = {s.specie.symbol for s in structure} & METALS
    if not metals:
        raise InputError("the cell has no metal atoms to carve nodes around (a cif host is "
                         "carved like the library MOFs)", str(path))
    if cap not in ("protonate", "truncate"):
        raise InputError(f"cap of a cif host must be protonate or truncate, not {cap!r}",
                         field="cap")
    if nodes < 1:
        raise InputError(f"nodes must be at least 1, got {nodes}", field="nodes")
    pore = None
    if centre is None:
        centre_frac, pore = largest_pore(structure)
    else:
        centre_frac = np.asarray(centre, float)
        if centre_frac.shape != (3,):
            raise InputError("centre must be three fractional coordinates", field="centre")
    label = name or f"{path.stem}-{nodes}nodes"
    mol, book = carve(structure, centre_frac, nodes, {m: 0 for m in metals}, None, cap, label,
                      charge)
    mol = Molecule(mol.symbols, mol.positions, charge, multiplicity, name=label)
    mol.validate(str(path))
    book.update(charge=charge, multiplicity=multiplicity,
                spin=f"multiplicity {multiplicity} (given with the file)")
    info = {"source": f"{path} ({structure.composition.reduced_formula}, "
                      f"{len(structure)} atoms in the cell) carved by screening.hosts.mofs.carve",
            "centre_frac": [round(float(x), 4) for x in centre_frac], "atoms": mol.natoms,
            **({"largest_pore_A": round(pore, 2)} if pore is not None else {}),
            "cut": _cut_sentence(book), **book}
    sites = surface_and_donor_sites(mol)
    metal_site = open_metal_site(mol, bond_graph(mol.symbols, mol.positions))
    if metal_site is not None:
        sites["open_metal"] = metal_site
    return Host(label, mol, sites, info, frozen=True)


def _cut_sentence(book: dict) -> str:
    """What carving cut and how the cuts were capped, in words (for ``Host.info``)."""
    kept = f"{book['metal_nodes']} metal node(s) ({book['metals']} metal atoms) with their " \
           f"{book['linkers']} linkers"
    if book["cap"] == "truncate":
        return f"{kept}; {book['truncated']} carboxylate(s) bound to cut metals removed, the " \
               f"carbon they hung from capped with H"
    left = book.get("left_anionic", 0)
    return f"{kept}; {book['protonated']} donor(s) that lost a metal protonated" + (
        f", {left} left anionic so that the total charge is {book['charge']:+d}" if left else "")


def _cluster_sites(mol: Molecule, centre: str, spec: CellSpec) -> dict[str, Site]:
    """Open metal sites (axial Cu of a paddlewheel), the pore/window at the carving centre
    (the origin of the cluster's frame), the outer surface and donor atoms."""
    pos = np.asarray(mol.positions)
    sites: dict[str, Site] = {}
    cu = [i for i, s in enumerate(mol.symbols) if s == "Cu"]
    if cu:
        pts, normals = [], []
        for i in cu:
            partner = min((j for j in cu if j != i), key=lambda j: np.linalg.norm(pos[i] - pos[j]))
            u = pos[i] - pos[partner]
            pts.append(pos[i])
            normals.append(u / np.linalg.norm(u))
        sites["open_metal"] = Site("open_metal", "atom", pts, normals)
    metals = pos[[i for i, s in enumerate(mol.symbols) if s in spec.metal_charge]]
    cage_pore = spec.pores[centre][1] > 0  # a pore (not a window) at the carving centre
    if len(metals) >= 3 and cage_pore and enclosure(mol, np.zeros(3)) >= ENCLOSED_PORE:
        sites["endo"] = Site("endo", "cavity", np.zeros(3), np.zeros(3))
    elif len(metals) >= 3:  # a ring of nodes around the centre: a window through it
        _, _, vt = np.linalg.svd(metals - metals.mean(axis=0))
        sites["window"] = Site("window", "window", np.zeros(3), vt[2])
    sites.update(surface_and_donor_sites(mol))
    return sites


def _builder(mof: str):
    def build(cluster: str | None = None, nodes: int | None = None, centre: str | None = None,
              multiplicity: int | None = None, cap: str | None = None) -> Host:
        return mof_cluster(mof, cluster, nodes, centre, multiplicity, cap)

    build.__doc__ = f"{mof} cluster model; clusters: {', '.join(CLUSTERS[mof])}."
    return build


HOSTS = {
    "HKUST-1": (_builder("HKUST-1"), "Cu3(BTC)2 cluster models: " + ", ".join(CLUSTERS["HKUST-1"])),
    "ZIF-8": (_builder("ZIF-8"), "Zn(mIm)2 cluster models: " + ", ".join(CLUSTERS["ZIF-8"])),
}
