"""GFN2-xTB through tblite: the cheap level that pre-relaxes geometries and ranks poses.

GFN2-xTB overbinds Li⁺ badly (−85 kcal/mol measured for Li⁺ in CC3): its energies order
candidates and never reach a results table.
"""

from __future__ import annotations

from ..geometry import Molecule


def xtb_relaxed(mol: Molecule, fmax: float = 0.05, steps: int = 1000,
                fixed: list[int] | None = None, relax: bool = True) -> tuple[Molecule, float]:
    """GFN2-xTB geometry (ASE BFGS to ``fmax`` eV/Å, ``fixed`` atoms held) and energy in eV.

    With ``relax=False`` only the energy of the given geometry.
    """
    from ase.constraints import FixAtoms
    from ase.optimize import BFGS
    from tblite.ase import TBLite

    atoms = mol.to_atoms()
    if fixed:
        atoms.set_constraint(FixAtoms(indices=fixed))
    atoms.calc = TBLite(method="GFN2-xTB", charge=mol.charge, multiplicity=mol.multiplicity,
                        verbosity=0)
    if relax:
        BFGS(atoms, logfile=None).run(fmax=fmax, steps=steps)
    energy = float(atoms.get_potential_energy())
    return Molecule.from_atoms(atoms, mol.charge, mol.multiplicity, name=mol.name), energy
