"""An ASE calculator over :func:`screening.engines.dispatch.single_point`: NEB images and ONIOM
relaxations get their energies and forces from the same engine as every single point."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from ase import Atoms
from ase.calculators.calculator import Calculator, all_changes
from ase.units import Bohr, Hartree

from ..geometry import Molecule
from ..methods import Method
from ..settings import Settings


def structure_of(atoms: Atoms, charge: int, multiplicity: int, model: frozenset[int],
                 name: str = "") -> Molecule:
    """The structure of ``atoms`` (an NEB image, a relaxation step) with the ONIOM region
    ``model`` (empty: none), which every image of a path shares."""
    return replace(Molecule.from_atoms(atoms, charge, multiplicity, name=name), model=model)


class EngineCalculator(Calculator):
    """ASE calculator over the engine (PySCF, or ONIOM where the structure has a region):
    energy (eV) and forces (eV/Å). ``counter[0]`` counts force calls; ``last`` keeps the last
    structure and its record, so the caller can store what the band computed."""

    implemented_properties = ["energy", "forces"]

    def __init__(self, method: Method, charge: int, multiplicity: int, counter: list[int],
                 settings: Settings | None = None, model: frozenset[int] = frozenset(),
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.method, self.charge, self.multiplicity = method, charge, multiplicity
        self.settings = settings
        self.counter = counter
        self.model = model  # the ONIOM region every image shares (empty: none)
        self.last: tuple[Molecule, dict] | None = None

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes) -> None:
        from .dispatch import single_point

        super().calculate(atoms, properties, system_changes)
        mol = structure_of(self.atoms, self.charge, self.multiplicity, self.model)
        result = single_point(mol, self.method, gradient=True, settings=self.settings)
        self.counter[0] += 1
        self.last = (mol, result.to_dict())
        self.results["energy"] = result.energy * Hartree
        self.results["forces"] = -np.asarray(result.gradient) * Hartree / Bohr
