"""GFN-FF through the ``xtb`` package: a force field that pre-relaxes placed poses.

GFN-FF (Spicher & Grimme 2020) is the force field of the xTB family: generic, parametrised for
the whole periodic table, with its topology (bonds, rings, hybridisation, EEQ charges) read off
the start geometry. It moves a guest out of a clash into a snug contact in seconds where
GFN2-xTB needs minutes, so the GFN2-xTB relaxation that ranks the pose starts closer to its
minimum. Its energies never rank anything and never reach a table.

The ``xtb`` package (xtb-python) ships one wheel, for CPython 3.11 on Linux x86-64. It writes
its topology (``gfnff_topo``, ``gfnff_adjacency``) into the working directory, reads one that is
already there back in (a stale topology of another pose would be used silently), and prints its
set-up on file descriptor 1 whatever its verbosity. Every relaxation therefore runs in a spawned
worker process whose standard output goes to ``/dev/null`` and which works in a fresh folder
for each pose.

GFN-FF splits the system into fragments (bonded groups) and fixes each fragment's charge.
Through xtb's programming interface the whole charge goes to the fragment of the first atom
and every other fragment is neutral (measured: Li⁺ beside CH₃CHF₂ came out neutral, the alkane
+1; TFSI⁻ in CC3 neutral, the cage −1). So the charged molecule is put first here, and a complex
with charges on two molecules (a charged host and an ion, or a cluster of ions) is refused. A
bare ion given its charge collapses onto the host (Li⁺ ended 1.11 Å from a fluorine of
CH₃CHF₂, where GFN2-xTB puts it at 1.8–1.9 Å): monatomic ions are refused too.
"""

from __future__ import annotations

import os
from typing import Sequence

import numpy as np

from ..geometry import Molecule, bond_graph, connected_components
from ..specs import Part

FF_FMAX = 0.1
"""Force threshold (eV/Å) of the GFN-FF pre-relaxation."""

FF_STEPS = 500
"""BFGS steps a GFN-FF pre-relaxation may take."""


def gfnff_missing() -> str | None:
    """Why GFN-FF cannot run here (the ``xtb`` package is not importable), or None."""
    try:
        import xtb.interface  # noqa: F401
    except ImportError as exc:
        return (f"GFN-FF needs the xtb package ({exc}); it is installed with screening on "
                "CPython 3.11, Linux x86-64 (the only platform its wheel is built for)")
    return None


def prerelax_problem(name: object) -> str | None:
    """What keeps ``name`` from pre-relaxing poses here: not one of
    :data:`~screening.specs.PRERELAXERS`, or its package missing; None if it can."""
    from ..specs import unknown_prerelaxer

    return unknown_prerelaxer(name) or gfnff_missing()


def fragments(mol: Molecule) -> int:
    """How many bonded molecules ``mol`` is made of."""
    return len(connected_components(bond_graph(mol.symbols, mol.positions), range(mol.natoms)))


def _molecules(guest: Molecule, guest_parts: Sequence[Part]) -> list[Part]:
    """The guest's molecules: its parts, or the guest itself as one."""
    return list(guest_parts) or [Part("guest", guest.name or "guest", tuple(range(guest.natoms)),
                                      guest.charge, guest.multiplicity)]


def charge_problem(host: Molecule, guest: Molecule, guest_parts: Sequence[Part] = ()
                   ) -> str | None:
    """Why GFN-FF cannot hold the charges of ``guest`` (made of ``guest_parts`` where it is
    several molecules) placed on ``host``: charges on two molecules, a charged host in pieces,
    or a bare ion; None if one molecule carries all the charge."""
    parts = _molecules(guest, guest_parts)
    charged = [p.charge for p in parts if p.charge] + ([host.charge] if host.charge else [])
    if len(charged) > 1:
        return ("GFN-FF gives the whole charge to one molecule; this complex has "
                f"{len(charged)} charged ones (charges {', '.join(f'{c:+d}' for c in charged)})")
    if any(len(p.atoms) == 1 and p.charge for p in parts):
        return ("GFN-FF pulls a bare ion onto the host (Li⁺ beside CH₃CHF₂ ended 1.11 Å from F); "
                "place a monatomic ion without prerelax")
    if host.charge and fragments(host) > 1:
        return f"GFN-FF gives the whole charge ({host.charge:+d}) to one molecule; the host is several"
    return None


def charged_atoms(host_atoms: int, guest: Molecule, guest_parts: Sequence[Part] = ()
                  ) -> list[int]:
    """The atoms of the one molecule that carries the charge in ``guest`` placed after a host of
    ``host_atoms`` atoms (the host's if none of the guest's does)."""
    for p in _molecules(guest, guest_parts):
        if p.charge:
            return [host_atoms + i for i in p.atoms]
    return list(range(host_atoms))


def _quiet_worker() -> None:
    """A pool worker's set-up: one OpenMP thread (repeatable sums), standard output discarded
    (xtb prints its topology on file descriptor 1)."""
    os.environ["OMP_NUM_THREADS"] = "1"
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)


def _ff_relax_one(args: tuple) -> Molecule | str:
    """One GFN-FF relaxation (a pool task) in a fresh working folder: the relaxed molecule, or
    why it failed as text."""
    import tempfile

    from ase.constraints import FixAtoms
    from ase.optimize import BFGS

    mol, fmax, steps, fixed, charged = args
    order = list(charged) + sorted(set(range(mol.natoms)) - set(charged))
    atoms = mol.to_atoms()[order]  # the charged molecule first: it gets the charge
    atoms.set_initial_charges([float(mol.charge)] + [0.0] * (mol.natoms - 1))
    if fixed:
        atoms.set_constraint(FixAtoms(indices=[order.index(i) for i in fixed]))
    home = os.getcwd()
    with tempfile.TemporaryDirectory(prefix="gfnff-") as folder:
        os.chdir(folder)
        try:
            from xtb.ase.calculator import XTB

            atoms.calc = XTB(method="GFN-FF")
            BFGS(atoms, logfile=None).run(fmax=fmax, steps=steps)
        except Exception as exc:  # xtb raises its own XTBException and ASE's errors
            return f"GFN-FF failed ({type(exc).__name__}: {exc})"
        finally:
            os.chdir(home)
    back = atoms[list(np.argsort(order))]
    return Molecule.from_atoms(back, mol.charge, mol.multiplicity, name=mol.name)


def ff_relax_all(molecules: list[Molecule], fixed: list[int] | None, workers: int = 1,
                 charged: Sequence[int] = (), fmax: float = FF_FMAX, steps: int = FF_STEPS
                 ) -> list[Molecule | str]:
    """Each molecule relaxed with GFN-FF (BFGS to ``fmax`` eV/Å, at most ``steps`` steps,
    ``fixed`` atoms held), ``workers`` at a time in spawned processes with one thread each.
    ``charged``: the atoms of the one molecule that carries the charge (GFN-FF sees them first;
    see the module's text). A relaxation that fails gives its reason as text. The result does
    not depend on ``workers``.
    """
    from ..processes import spawn_pool

    problem = gfnff_missing()
    if problem:
        raise RuntimeError(problem)
    tasks = [(m, fmax, steps, list(fixed or []), list(charged)) for m in molecules]
    if not tasks:
        return []
    with spawn_pool(max(1, min(workers, len(tasks))), _quiet_worker) as pool:
        return list(pool.map(_ff_relax_one, tasks))
