"""GFN2-xTB through tblite: the cheap level that pre-relaxes geometries and ranks poses.

GFN2-xTB overbinds Li⁺ badly (−85 kcal/mol measured for Li⁺ in CC3): its energies order
candidates and never reach a results table.
"""

from __future__ import annotations

import os
import time

import numpy as np

from ..geometry import Molecule
from ..specs import DEFAULT_OPTIMIZER, unknown_optimizer


def xtb_relaxed(mol: Molecule, fmax: float = 0.05, steps: int = 1000,
                fixed: list[int] | None = None, relax: bool = True,
                deterministic: bool = False, optimizer: str = DEFAULT_OPTIMIZER
                ) -> tuple[Molecule, float]:
    """GFN2-xTB geometry (``optimizer`` to ``fmax`` eV/Å on every atom, at most ``steps``
    steps, ``fixed`` atoms held) and energy in eV. An optimizer not in
    :data:`~screening.specs.OPTIMIZERS` is a ValueError (campaigns and the API refuse it
    before this).

    With ``relax=False`` only the energy of the given geometry. ``deterministic``: one thread,
    so that the result is the same to the last bit on every run. With several OpenMP threads
    tblite's sums come out in varying order, and over a few hundred BFGS steps the geometries
    of two runs part by more than the 1e-6 Å that structure keys resolve: use it for every
    geometry that becomes part of a key (guest references, shells).
    """
    problem = unknown_optimizer(optimizer)
    if problem:
        raise ValueError(problem)
    if deterministic:
        import tblite.ase  # noqa: F401  (its OpenMP runtime must be loaded to be limited)
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1):
            return xtb_relaxed(mol, fmax, steps, fixed, relax, optimizer=optimizer)
    from ase.constraints import FixAtoms
    from ase.optimize import BFGS
    from tblite.ase import TBLite

    atoms = mol.to_atoms()
    if fixed:
        atoms.set_constraint(FixAtoms(indices=fixed))
    atoms.calc = TBLite(method="GFN2-xTB", charge=mol.charge, multiplicity=mol.multiplicity,
                        verbosity=0)
    if relax and optimizer == "tric":
        _tric_relax(atoms, fmax, steps, fixed or [])
    elif relax:
        BFGS(atoms, logfile=None).run(fmax=fmax, steps=steps)
    energy = float(atoms.get_potential_energy())
    return Molecule.from_atoms(atoms, mol.charge, mol.multiplicity, name=mol.name), energy


def _tric_relax(atoms, fmax: float, steps: int, fixed: list[int]) -> None:
    """Relax ``atoms`` (ASE, with a calculator) in place with geomeTRIC (TRIC coordinates) until
    the largest atomic force is below ``fmax`` eV/Å, at most ``steps`` steps; ``fixed`` atoms
    are frozen. Out of steps, the last geometry stays (as ASE's BFGS leaves it)."""
    import tempfile
    from pathlib import Path

    import geometric.molecule
    import geometric.optimize
    from ase.units import Bohr, Hartree
    from geometric.ase_engine import EngineASE
    from geometric.errors import GeomOptNotConvergedError

    from .geomopt import GEOMETRIC_LOG_INI, freeze_constraints

    gmol = geometric.molecule.Molecule()
    gmol.elem = list(atoms.get_chemical_symbols())
    gmol.xyzs = [atoms.get_positions()]
    engine = EngineASE(gmol, atoms.calc)
    engine.ase_atoms = atoms
    loose = 1e3  # only the force decides, as with BFGS's fmax
    with tempfile.TemporaryDirectory() as tmp:
        try:
            result = geometric.optimize.run_optimizer(
                customengine=engine, input=str(Path(tmp) / "relax.in"), coordsys="tric",
                constraints=freeze_constraints(tmp, fixed), maxiter=steps,
                convergence_gmax=fmax * Bohr / Hartree, convergence_grms=fmax * Bohr / Hartree,
                convergence_energy=loose, convergence_drms=loose, convergence_dmax=loose,
                logIni=GEOMETRIC_LOG_INI)
            atoms.set_positions(result.xyzs[-1])
        except GeomOptNotConvergedError:
            pass  # the engine's atoms hold the last geometry computed


def _relax_one(args: tuple) -> tuple[Molecule, float] | str:
    """One relaxation of :func:`relax_all` (a pool task): the result, or tblite's or
    geomeTRIC's failure as text."""
    from ase.calculators.calculator import CalculatorError
    from geometric.errors import Error as GeometricError

    mol, fmax, steps, fixed, relax, optimizer = args
    try:
        return xtb_relaxed(mol, fmax, steps, fixed, relax, deterministic=True,
                           optimizer=optimizer)
    except CalculatorError as exc:  # tblite's SCF did not converge
        return f"GFN2-xTB failed ({exc})"
    except GeometricError as exc:  # e.g. coordinates it could not build for this geometry
        return f"geomeTRIC failed ({type(exc).__name__}: {exc})"


def relax_all(molecules: list[Molecule], fmax: float, steps: int, fixed: list[int] | None,
              relax: bool = True, workers: int = 1, optimizer: str = DEFAULT_OPTIMIZER
              ) -> list[tuple[Molecule, float] | str]:
    """:func:`xtb_relaxed` of each molecule, one thread each, ``workers`` at a time in spawned
    processes (a process forked after OpenMP has run hangs). A relaxation that fails gives its
    reason as text. The result does not depend on ``workers``."""
    tasks = [(m, fmax, steps, fixed, relax, optimizer) for m in molecules]
    if workers <= 1 or len(tasks) <= 1:
        return [_relax_one(t) for t in tasks]
    from ..processes import spawn_pool

    with spawn_pool(min(workers, len(tasks))) as pool:
        return list(pool.map(_relax_one, tasks))


def xtb_energy(mol: Molecule, gradient: bool = False) -> tuple[float, np.ndarray | None]:
    """GFN2-xTB single point: energy (Hartree) and gradient (Hartree/Bohr, one row per real
    atom) if asked for. Ghost atoms are left out (xTB has no basis to lend them)."""
    from ase.units import Bohr, Hartree
    from tblite.ase import TBLite

    from ase.calculators.calculator import CalculationFailed
    from tblite.exceptions import TBLiteRuntimeError

    atoms = mol.to_atoms(include_ghosts=False)

    def single_point(options: dict) -> float:
        atoms.calc = TBLite(method="GFN2-xTB", charge=mol.charge, multiplicity=mol.multiplicity,
                            verbosity=0, **options)
        return float(atoms.get_potential_energy()) / Hartree

    for options in SCF_LADDER[:-1]:
        try:
            energy = single_point(options)
            break
        except (TBLiteRuntimeError, CalculationFailed) as exc:  # ASE wraps tblite's
            if "not converged" not in str(exc):
                raise
    else:
        energy = single_point(SCF_LADDER[-1])
    grad = -atoms.get_forces() * Bohr / Hartree if gradient else None
    return energy, grad


SCF_LADDER: tuple[dict, ...] = ({}, {"mixer_damping": 0.1, "max_iterations": 1000})
"""tblite SCF settings a GFN2-xTB single point tries in turn: the defaults (Broyden damping
0.4, 250 cycles), then heavier damping. Both leave the Hamiltonian (and so the converged
energy) as it is; a charge-separated ion pair in a small ONIOM model region can need the
second (seed 003's separated LiTFSI on PVDF: the defaults oscillate past 1000 cycles, damping
0.1 converges in 1 s)."""


def compute_xtb(molecule: Molecule, gradient: bool = False):
    """GFN2-xTB single point as an :class:`~screening.engines.pyscf.EnergyResult` (the stored
    record has the same fields as a DFT one; ``nao`` is 0, ``scf_strategy`` ``xtb``)."""
    from importlib.metadata import version

    from .pyscf import EnergyResult

    t0 = time.perf_counter()
    energy, real_grad = xtb_energy(molecule, gradient)
    grad = None
    if real_grad is not None:
        grad = np.zeros((molecule.natoms, 3))
        grad[list(molecule.real_atoms)] = real_grad
    return EnergyResult(energy, 0.0, True, 0, "xtb", ["xtb"], None, None, "cpu",
                        time.perf_counter() - t0, 0,
                        int(os.environ.get("OMP_NUM_THREADS", os.cpu_count() or 1)),
                        {"tblite": version("tblite")},
                        gradient=None if grad is None else grad.tolist())
