"""Engines that turn a (molecule, method) into an energy: PySCF on CPU or GPU, and ONIOM layers
of PySCF over GFN2-xTB (:mod:`.oniom`)."""

from __future__ import annotations

from ..geometry import Molecule
from ..methods import Method
from ..settings import Settings
from ..specs import in_layers
from .dispatch import single_point

__all__ = ["relaxed", "single_point"]


def relaxed(molecule: Molecule, method: Method, fixed: tuple[int, ...] = (),
            settings: Settings | None = None) -> tuple[Molecule, float]:
    """``molecule`` relaxed at ``method`` (``fixed`` atoms held) and its energy in Hartree:
    geomeTRIC on PySCF, ASE's BFGS on GFN2-xTB, and ASE's BFGS (to 0.05 eV/Å) on the ONIOM
    energy of a structure that carries a region."""
    if in_layers(molecule, method):
        from ase.constraints import FixAtoms
        from ase.optimize import BFGS
        from ase.units import Hartree

        from .calculator import EngineCalculator, structure_of

        atoms = molecule.to_atoms()
        if fixed:
            atoms.set_constraint(FixAtoms(indices=list(fixed)))
        atoms.calc = EngineCalculator(method, molecule.charge, molecule.multiplicity, [0],
                                      settings, molecule.model)
        BFGS(atoms, logfile=None).run(fmax=0.05, steps=500)
        final = structure_of(atoms, molecule.charge, molecule.multiplicity, molecule.model,
                             molecule.name)
        return final, atoms.get_potential_energy() / Hartree
    if method.is_xtb:
        from ase.units import Hartree

        from .xtb import xtb_relaxed

        mol, energy_ev = xtb_relaxed(molecule, fixed=list(fixed))
        return mol, energy_ev / Hartree
    from .pyscf import optimize

    return optimize(molecule, method, fixed=fixed, settings=settings)
