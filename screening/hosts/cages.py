"""Porous organic cages: [4+6] imine cages from a trialdehyde and a diamine, tetrahedral
arylene-ethynylene cages (stk), relaxed; and two cages packed window to window.

stk's ``FourPlusSix`` topology puts four tritopic aldehydes on the corners of a tetrahedron and
six diamines on its edges; the MCHammer optimizer brings the 12 imine bonds to length. The cage
is then relaxed with GFN2-xTB (tblite) and cached (:mod:`screening.hosts.cache`).

Cages of the library (all from 1,3,5-triformylbenzene):

* CC1: ethylenediamine; CC2: (R)-1,2-diaminopropane; CC3: (R,R)-1,2-diaminocyclohexane
  (Tozawa et al., Nat. Mater. 2009; CC3 is the cage of seed 000).

TD_A (seed 000's comparison cage; Lee, Yang, Moneypenny & Moore, JACS 2016; Petronico et al.,
JACS 2018): four tritopic aryl vertices joined by six C≡C on the same ``FourPlusSix`` topology,
as alkyne metathesis joins aryl propynes (``ETHYNYLENE_CAGES``; assumptions in
structures/SOURCES.md). ``CC3-pair``: two CC3 window to window as in the crystal
(:func:`cage_pair`).
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from ..geometry import Molecule
from ..specs import Host, Site
from .analysis import cavity, surface_and_donor_sites, windows
from .cache import read_cached, write_cached, xtb_relaxed_host

TRIFORMYLBENZENE = "O=Cc1cc(C=O)cc(C=O)c1"
CAGES = {
    "CC1": ("NCCN", "ethylenediamine"),
    "CC2": ("C[C@@H](N)CN", "(R)-1,2-diaminopropane"),
    "CC3": ("N[C@@H]1CCCC[C@H]1N", "(R,R)-1,2-diaminocyclohexane"),
}


def assemble_imine_cage(aldehyde: str, diamine: str, name: str = "cage") -> Molecule:
    """[4+6] imine cage from SMILES of a trialdehyde and a diamine (stk + MCHammer), unrelaxed.

    Raises InputError when the building blocks cannot form the topology (not three aldehydes and
    two primary amines) or the product is not the [4+6] condensate (4 A + 6 B − 12 H₂O).
    """
    import stk
    from rdkit import Chem

    blocks = []
    for smiles, factory, need, what in ((aldehyde, stk.AldehydeFactory(), 3, "aldehyde groups"),
                                        (diamine, stk.PrimaryAminoFactory(), 2, "primary amines")):
        if Chem.MolFromSmiles(smiles) is None:
            raise InputError(f"cage {name}: RDKit cannot parse building block {smiles!r}",
                             field="building_blocks")
        bb = stk.BuildingBlock(smiles, [factory])
        if bb.get_num_functional_groups() != need:
            raise InputError(f"cage {name}: building block {smiles!r} has "
                             f"{bb.get_num_functional_groups()} {what}, the [4+6] imine "
                             f"topology needs {need}", field="building_blocks")
        blocks.append(bb)
    cage = stk.ConstructedMolecule(stk.cage.FourPlusSix(tuple(blocks), optimizer=stk.MCHammer()))
    rd = cage.to_rdkit_mol()
    symbols = [a.GetSymbol() for a in rd.GetAtoms()]
    mol = Molecule.from_arrays(symbols, cage.get_position_matrix(), name=name)
    expected = _condensate_formula(aldehyde, diamine)
    if mol.formula != expected:
        raise InputError(f"cage {name}: product {mol.formula} is not the [4+6] condensate "
                         f"{expected}", field="building_blocks")
    return mol


def assemble_ethynylene_cage(vertex: str, name: str = "cage") -> Molecule:
    """Tetrahedral arylene-ethynylene cage, unrelaxed: four tritopic aryl units (``vertex``, a
    SMILES with three aryl bromides marking where the arms join) on stk's ``FourPlusSix``
    topology with a C≡C on each of its six edges (as alkyne metathesis links aryl propynes,
    Ar–C≡C–Me + Me–C≡C–Ar → Ar–C≡C–Ar), MCHammer-optimised.

    Raises InputError when the vertex is not tritopic or the product is not A₄(C₂)₆.
    """
    import stk
    from rdkit import Chem

    if Chem.MolFromSmiles(vertex) is None:
        raise InputError(f"cage {name}: RDKit cannot parse vertex {vertex!r}",
                         field="building_blocks")
    bb = stk.BuildingBlock(vertex, [stk.BromoFactory()])
    if bb.get_num_functional_groups() != 3:
        raise InputError(f"cage {name}: vertex {vertex!r} has {bb.get_num_functional_groups()} "
                         "aryl bromides, a tetrahedral cage needs 3", field="building_blocks")
    edge = stk.BuildingBlock("BrC#CBr", [stk.BromoFactory()])
    cage = stk.ConstructedMolecule(stk.cage.FourPlusSix((bb, edge), optimizer=stk.MCHammer()))
    rd = cage.to_rdkit_mol()
    mol = Molecule.from_arrays([a.GetSymbol() for a in rd.GetAtoms()],
                               cage.get_position_matrix(), name=name)
    from ase import Atoms

    unit = Chem.AddHs(Chem.MolFromSmiles(vertex))
    counts: dict[str, int] = {}
    for a in unit.GetAtoms():
        if a.GetSymbol() != "Br":
            counts[a.GetSymbol()] = counts.get(a.GetSymbol(), 0) + 4
    counts["C"] += 12
    expected = Atoms("".join(f"{k}{v}" for k, v in counts.items())).get_chemical_formula()
    if mol.formula != expected:
        raise InputError(f"cage {name}: product {mol.formula} is not A4(C2)6 {expected}",
                         field="building_blocks")
    return mol


def alkynes(mol: Molecule) -> list[tuple[int, int]]:
    """C≡C bonds: pairs of two-coordinate C closer than 1.30 Å (atom indices)."""
    from ..geometry import bond_graph

    pos = np.asarray(mol.positions)
    graph = bond_graph(mol.symbols, mol.positions)
    return [(i, j) for i in range(mol.natoms) for j in sorted(graph[i]) if i < j
            and mol.symbols[i] == mol.symbols[j] == "C" and len(graph[i]) == len(graph[j]) == 2
            and np.linalg.norm(pos[i] - pos[j]) < 1.30]


def ethynylene_cage(name: str, vertex: str, relax: bool = True) -> Host:
    """A tetrahedral arylene-ethynylene cage as a :class:`Host`, from the cache when the recipe
    matches; refuses a relaxed geometry that lost one of its six C≡C."""
    recipe = {"topology": "FourPlusSix", "vertex": vertex, "edge": "C#C",
              "relax": "GFN2-xTB fmax 0.05" if relax else "MCHammer only"}
    cached = read_cached(name, recipe)
    if cached is not None:
        mol = cached[0]
    else:
        mol = assemble_ethynylene_cage(vertex, name)
        if relax:
            mol = xtb_relaxed_host(mol)
        if len(alkynes(mol)) != 6:
            raise InputError(f"cage {name}: {len(alkynes(mol))} of its 6 C≡C survived the "
                             f"relaxation ({recipe['relax']})")
        write_cached(name, recipe, mol, f"stk FourPlusSix+MCHammer, {recipe['relax']}")
    return cage_host(name, mol, {"recipe": recipe, "charge": 0, "multiplicity": 1,
                                 "source": "stk FourPlusSix (vertices + C≡C edges) + MCHammer, "
                                           + recipe["relax"]})


def _condensate_formula(aldehyde: str, diamine: str) -> str:
    from collections import Counter

    from ase import Atoms
    from rdkit import Chem

    count: Counter = Counter()
    for smiles, n in ((aldehyde, 4), (diamine, 6)):
        for a in Chem.AddHs(Chem.MolFromSmiles(smiles)).GetAtoms():
            count[a.GetSymbol()] += n
    count["H"] -= 24
    count["O"] -= 12
    return Atoms("".join(f"{k}{v}" for k, v in count.items() if v)).get_chemical_formula()


def imine_cage(name: str, aldehyde: str, diamine: str, relax: bool = True) -> Host:
    """A [4+6] imine cage as a :class:`Host`, from the cache when the recipe matches."""
    recipe = {"topology": "FourPlusSix", "aldehyde": aldehyde, "diamine": diamine,
              "relax": "GFN2-xTB fmax 0.05" if relax else "MCHammer only"}
    cached = read_cached(name, recipe)
    if cached is not None:
        mol = cached[0]
    else:
        mol = assemble_imine_cage(aldehyde, diamine, name)
        if relax:
            mol = xtb_relaxed_host(mol)
        write_cached(name, recipe, mol, f"stk FourPlusSix+MCHammer, {recipe['relax']}")
    return cage_host(name, mol, {"recipe": recipe, "charge": 0, "multiplicity": 1,
                                 "source": "stk FourPlusSix + MCHammer, " + recipe["relax"]})


def cage_host(name: str, mol: Molecule, info: dict) -> Host:
    """Sites of a cage: ``endo`` (cavity centre), ``window``, ``exo`` (outer surface), donors."""
    centre, diameter = cavity(mol)
    wins = windows(mol, centre)
    sites = {"endo": Site("endo", "cavity", centre, np.zeros(3))}
    if wins:
        sites["window"] = Site("window", "window", np.array([w[0] for w in wins]),
                               np.array([w[1] for w in wins]))
    sites.update(surface_and_donor_sites(mol))
    info = {**info, "cavity_centre_A": [round(float(x), 3) for x in centre],
            "cavity_diameter_A": round(diameter, 2),
            "window_diameters_A": [round(w[2], 2) for w in wins]}
    return Host(name, mol, sites, info)


CC3_CRYSTAL_A = 24.8
"""Å: cubic cell of crystalline CC3-R (CSD PUDXES, F4₁32; Tozawa et al., Nat. Mater. 2009): the
cages sit on a diamond net, each packed window-to-window with four neighbours at a√3/4."""


MIN_CONTACT_ANGSTROM = 2.2
"""Closest approach (Å) of two atoms of different cages in a pair (about an H···H contact)."""
TETRAHEDRON = np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]]) / 3 ** 0.5


def cage_pair(name: str = "CC3", distance: float | None = None) -> Host:
    """Two cages packed window-to-window as in the CC3 crystal (a two-body contact for Li⁺ hops
    from one cage into the next).

    The cage's four windows are fitted by a regular tetrahedron (its frame); the second cage is
    the first turned by a half-turn about the frame's ⟨1−10⟩ axis through the contact point:
    the operation that relates neighbouring cages on the crystal's diamond net (one window then
    faces the other, both cages keep their handedness). ``distance``: centre to centre (Å);
    default the crystal's (``CC3_CRYSTAL_A``·√3/4), moved apart in 0.05 Å steps until no two
    atoms of different cages are closer than ``MIN_CONTACT_ANGSTROM`` (the gas-phase GFN2-xTB
    cage is not the crystal's). The cages are the relaxed isolated cage, rigid;
    ``info["components"]`` names the atoms of each.
    """
    if name not in CAGES:
        raise InputError(f"no cage {name!r}; cages: {', '.join(CAGES)}", field="host")
    single = HOSTS[name][0]()
    mol = single.molecule
    pos = np.asarray(mol.positions)
    centre = np.asarray(single.site("endo").points[0])
    wins = sorted(windows(mol, centre), key=lambda w: -w[2])[:4]
    if len(wins) < 4:
        raise InputError(f"{name}: found {len(wins)} windows; a window-to-window pair needs "
                         "the four of a tetrahedral cage")
    frame = _tetrahedral_frame(np.array([w[1] for w in wins]))
    axis, turn = frame @ TETRAHEDRON[0], frame @ np.array([1.0, -1.0, 0.0]) / 2 ** 0.5
    rot = 2 * np.outer(turn, turn) - np.eye(3)
    crystal = CC3_CRYSTAL_A * 3 ** 0.5 / 4
    if distance is not None and not 5.0 <= distance <= 30.0:
        raise InputError(f"{name}-pair: distance must be 5–30 Å, got {distance}",
                         field="distance")

    def image(d: float) -> tuple[np.ndarray, float]:
        contact = centre + 0.5 * d * axis
        second = (pos - contact) @ rot.T + contact
        return second, float(np.linalg.norm(pos[:, None] - second[None], axis=2).min())

    d = distance if distance is not None else crystal
    second, closest = image(d)
    while distance is None and closest < MIN_CONTACT_ANGSTROM:
        d += 0.05
        second, closest = image(d)
    both = Molecule.from_arrays(mol.symbols + mol.symbols, np.vstack([pos, second]), 0, 1,
                                 name=f"{name}-pair")
    both.validate(both.name)
    n = mol.natoms
    info = {"source": f"two {name} cages (the relaxed isolated cage, rigid) window to window, "
                      f"the second the half-turn image of the first, centres {d:.2f} Å apart "
                      f"(crystal: a√3/4 = {crystal:.2f} Å with a = {CC3_CRYSTAL_A} Å)",
            "components": {f"{name}(1)": [0, n - 1], f"{name}(2)": [n, 2 * n - 1]},
            "centre_distance_A": round(d, 3), "closest_contact_A": round(closest, 3),
            "charge": 0, "multiplicity": 1}
    return Host(both.name, both, surface_and_donor_sites(both), info, frozen=True)


def _tetrahedral_frame(directions: np.ndarray) -> np.ndarray:
    """Rotation R (proper) that best takes ``TETRAHEDRON`` onto four unit ``directions``, the
    first vertex onto the first direction's neighbourhood (Kabsch over the vertex orders that a
    proper rotation can reach)."""
    best: tuple[float, np.ndarray] | None = None
    for order in ([0, 1, 2, 3], [0, 2, 1, 3]):  # one of the two has the cage's handedness
        target = directions[order]
        u, _, vt = np.linalg.svd(TETRAHEDRON.T @ target)
        flip = np.sign(np.linalg.det(vt.T @ u.T))
        rot = vt.T @ np.diag([1.0, 1.0, flip]) @ u.T
        err = float(np.linalg.norm(TETRAHEDRON @ rot.T - target))
        if best is None or err < best[0]:
            best = (err, rot)
    return best[1]


def _builder(name: str):
    diamine, label = CAGES[name]

    def build(relax: bool = True) -> Host:
        return imine_cage(name, TRIFORMYLBENZENE, diamine, relax)

    build.__doc__ = f"{name}: [4+6] imine cage of 1,3,5-triformylbenzene and {label}."
    return build


HOSTS = {name: (_builder(name), f"[4+6] imine cage, 1,3,5-triformylbenzene + {label}")
         for name, (_, label) in CAGES.items()}
ETHYNYLENE_CAGES = {
    "TD_A": ("Brc1ccc(cc1)-c1cc(cc(c1)-c1ccc(Br)cc1)-c1ccc(Br)cc1",
             "1,3,5-triphenylbenzene vertices, para-phenylene-ethynylene edges"),
}
"""Tetrahedral arylene-ethynylene cages: vertex SMILES (aryl bromides mark the arms) and what
they are; see structures/SOURCES.md for what is assumed about TD_A."""


def _ethynylene_builder(name: str):
    vertex, label = ETHYNYLENE_CAGES[name]

    def build(relax: bool = True) -> Host:
        return ethynylene_cage(name, vertex, relax)

    build.__doc__ = f"{name}: tetrahedral arylene-ethynylene cage, {label}."
    return build


HOSTS.update({name: (_ethynylene_builder(name), f"tetrahedral arylene-ethynylene cage, {label}")
              for name, (_, label) in ETHYNYLENE_CAGES.items()})
HOSTS["CC3-pair"] = (lambda distance=None: cage_pair("CC3", distance),
                     "two CC3 cages window to window, as packed in the crystal")
