"""Porous organic cages: [4+6] imine cages from a trialdehyde and a diamine (stk), then relaxed.

stk's ``FourPlusSix`` topology puts four tritopic aldehydes on the corners of a tetrahedron and
six diamines on its edges; the MCHammer optimizer brings the 12 imine bonds to length. The cage
is then relaxed with GFN2-xTB (tblite) and cached (:mod:`screening.hosts.cache`).

Cages of the library (all from 1,3,5-triformylbenzene):

* CC1: ethylenediamine; CC2: (R)-1,2-diaminopropane; CC3: (R,R)-1,2-diaminocyclohexane
  (Tozawa et al., Nat. Mater. 2009; CC3 is the cage of seed 000).
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


def _builder(name: str):
    diamine, label = CAGES[name]

    def build(relax: bool = True) -> Host:
        return imine_cage(name, TRIFORMYLBENZENE, diamine, relax)

    build.__doc__ = f"{name}: [4+6] imine cage of 1,3,5-triformylbenzene and {label}."
    return build


HOSTS = {name: (_builder(name), f"[4+6] imine cage, 1,3,5-triformylbenzene + {label}")
         for name, (_, label) in CAGES.items()}
