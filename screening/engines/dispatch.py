"""The engine a (structure, method) goes to: GFN2-xTB, ONIOM layers, or PySCF."""

from __future__ import annotations

from ..geometry import Molecule
from ..methods import Method
from ..settings import Settings
from ..specs import in_layers


def single_point(molecule: Molecule, method: Method, gradient: bool = False,
                 settings: Settings | None = None):
    """Energy (Hartree; gradient in Hartree/Bohr if asked) of ``molecule`` at ``method``, as an
    :class:`~screening.engines.pyscf.EnergyResult`.

    An ONIOM method computes a structure with a region (``Molecule.model``) in two layers; a
    structure without one is computed whole at the high level, which is what ONIOM with the
    whole structure as its model gives.
    """
    if method.is_xtb:
        from .xtb import compute_xtb

        return compute_xtb(molecule, gradient)
    if in_layers(molecule, method):
        from .oniom import compute_oniom

        return compute_oniom(molecule, method, gradient, settings)
    from .pyscf import compute

    return compute(molecule, method.high_level, gradient=gradient, settings=settings)
