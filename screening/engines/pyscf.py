"""PySCF engine: energies and gradients of charged and open-shell molecules, CPU or GPU.

The same call runs on a CUDA GPU through gpu4pyscf (``mf.to_gpu()``) when the package and a
device are present, and on the CPU otherwise; ``SCREENING_DEVICE=cpu|gpu|auto`` forces the
choice. Every result records the device, wall time, SCF cycles, the SCF strategy that
converged, and the software versions.

SCF fallback ladder (each with ``method.max_cycle`` iterations, starting from the last density):

1. ``diis``: PySCF's default DIIS;
2. ``damped``: damping 0.5 and level shift 0.3 Eh, DIIS from cycle 8;
3. ``newton``: second-order SCF (co-iterative augmented Hessian).

After convergence the total energy is re-evaluated on the final density; a difference above
:data:`ENERGY_CHECK_TOLERANCE` flags the record (``energy_check_ok = False``), which catches a
"converged" SCF with a wrong energy (reported for gpu4pyscf). The check costs one Fock build, so
by default it runs on the GPU only: ``SCREENING_ENERGY_CHECK=always|gpu|never``.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from ..errors import SCFNotConverged
from ..geometry import Molecule
from ..methods import Method
from ..settings import Settings, current_settings
from .checkpoint import ScfCheckpoint
from .densities import DensityStore
from .planning import plan_scf

ENERGY_CHECK_TOLERANCE = 1e-6
"""Largest accepted |E(final density) − E(SCF)| in Hartree."""

LADDER = ("diis", "damped", "newton")


@dataclass
class EnergyResult:
    """Outcome of one single point.

    Attributes
    ----------
    energy : total energy in Hartree (dispersion and solvation included).
    dispersion_energy : dispersion correction in Hartree (0 without one).
    converged : SCF converged.
    scf_cycles : SCF iterations over every strategy tried.
    scf_strategy : the ladder step that converged (``diis``, ``damped``, ``newton``).
    strategies_tried : every ladder step run, in order.
    energy_check : |E(final density) − E(SCF)| in Hartree; ``energy_check_ok`` whether it passed
        (both None when the check did not run).
    device : ``cpu`` or ``gpu:<name>``; ``wall_s`` seconds for the whole call.
    nao : number of basis functions; ``threads`` CPU threads used.
    versions : software versions.
    scf_plan : density fitting or direct SCF, the memory estimate behind it, and any fallback.
    gradient : dE/dx in Hartree/Bohr, shape (n, 3), when asked for.
    s2 : ⟨S²⟩ of an unrestricted (open-shell) determinant (spin contamination), else None.
    solvent : the implicit solvent actually used (``model``, ``eps``), else None.
    scf_restart : when the SCF resumed from a checkpoint of earlier sittings (a run cut off):
        ``sittings`` (this one included) and ``earlier_wall_s`` (s, up to their last finished
        cycle; ``wall_s`` counts this sitting only), else None.
    scf_guess : when the SCF started from stored densities of molecules that share its atoms
        (:mod:`screening.engines.densities`): each density's calc key and the atoms it covered,
        and the molecule's real atoms; None for PySCF's minao start (or a given ``dm0``).
    """

    energy: float
    dispersion_energy: float
    converged: bool
    scf_cycles: int
    scf_strategy: str
    strategies_tried: list[str]
    energy_check: float | None
    energy_check_ok: bool | None
    device: str
    wall_s: float
    nao: int
    threads: int
    versions: dict[str, str]
    scf_plan: dict = field(default_factory=dict)
    gradient: list[list[float]] | None = field(default=None)
    s2: float | None = None
    solvent: dict | None = None
    scf_restart: dict | None = None
    scf_guess: dict | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def software_versions() -> dict[str, str]:
    """Versions of the packages that make a number."""
    import pyscf

    from .. import __version__

    out = {"screening": __version__, "pyscf": pyscf.__version__, "numpy": np.__version__}
    for mod in ("pyscf.dispersion", "gpu4pyscf"):
        try:
            out[mod.split(".")[-1] if mod != "pyscf.dispersion" else "pyscf-dispersion"] = \
                __import__(mod, fromlist=["__version__"]).__version__
        except Exception:
            pass
    return out


def gpu_name() -> str | None:
    """Name of the first CUDA device if gpu4pyscf and a device are usable, else None."""
    try:
        import cupy
        import gpu4pyscf  # noqa: F401

        if cupy.cuda.runtime.getDeviceCount() < 1:
            return None
        props = cupy.cuda.runtime.getDeviceProperties(0)
        name = props["name"]
        return name.decode() if isinstance(name, bytes) else str(name)
    except Exception:
        return None


def choose_device(requested: str | None = None, settings: Settings | None = None) -> str:
    """``cpu`` or ``gpu``: ``requested``, else the settings' device (``auto`` = GPU if usable)."""
    want = (requested or (settings or current_settings()).device).lower()
    if want not in ("auto", "cpu", "gpu"):
        raise ValueError(f"device must be auto, cpu or gpu, not {want!r}")
    if want == "cpu":
        return "cpu"
    have_gpu = gpu_name() is not None
    if want == "gpu" and not have_gpu:
        raise RuntimeError("device 'gpu' requested but gpu4pyscf or a CUDA device is missing")
    return "gpu" if have_gpu else "cpu"


def energy_check_wanted(device: str, settings: Settings | None = None) -> bool:
    """Whether to re-evaluate the energy on the final density (``Settings.energy_check``)."""
    mode = (settings or current_settings()).energy_check
    return mode == "always" or (mode == "gpu" and device == "gpu")


def build_mol(molecule: Molecule, method: Method, max_memory_mb: int | None = None):
    """A PySCF ``Mole``; ghost atoms as ``ghost-X`` (basis functions, no nucleus, no electrons)."""
    from pyscf import gto

    atom = [(("ghost-" + s) if i in molecule.ghosts else s, p)
            for i, (s, p) in enumerate(zip(molecule.symbols, molecule.positions))]
    return gto.M(atom=atom, basis=method.basis, charge=molecule.charge,
                 spin=molecule.multiplicity - 1, unit="Angstrom", verbose=0,
                 max_memory=max_memory_mb or default_max_memory_mb())


def default_max_memory_mb(settings: Settings | None = None) -> int:
    """Memory PySCF may use (MB): ``Settings.max_memory_mb``, else 60 % of physical memory
    shared among the settings' workers (calculations running side by side)."""
    settings = settings or current_settings()
    if settings.max_memory_mb:
        return settings.max_memory_mb
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e6
        return int(0.6 * total / settings.workers)
    except (ValueError, OSError):
        return 4000


def build_scf(mol, method: Method, device: str = "cpu"):
    """The mean-field object for ``method`` on ``mol`` (RKS/UKS or RHF/UHF), not yet run."""
    from pyscf import dft, scf

    restricted = mol.spin == 0
    if method.functional.lower() in ("hf", "rhf", "uhf"):
        mf = scf.RHF(mol) if restricted else scf.UHF(mol)
    else:
        mf = dft.RKS(mol) if restricted else dft.UKS(mol)
        mf.xc = method.functional
        mf.grids.level = method.grid_level
        if method.nlc_grid_level is not None:
            mf.nlcgrids.level = method.nlc_grid_level
    mf.conv_tol = method.conv_tol
    mf.max_cycle = method.max_cycle
    if method.density_fit:
        mf = mf.density_fit(auxbasis=method.auxbasis)
    if method.dispersion:
        mf.disp = method.dispersion
    if method.solvent == "pcm":
        mf = mf.PCM()
        mf.with_solvent.eps = method.solvent_eps
    elif method.solvent == "smd":
        mf = mf.SMD()
        mf.with_solvent.solvent = method.solvent_name
    if device == "gpu":
        mf = mf.to_gpu()
    return mf


def _apply_strategy(mf, strategy: str):
    if strategy == "damped":
        mf.damp = 0.5
        mf.level_shift = 0.3
        mf.diis_start_cycle = 8
    elif strategy == "newton":
        mf.damp, mf.level_shift = 0.0, 0.0
        mf = mf.newton()
    return mf


def _to_numpy(x) -> np.ndarray:
    return np.asarray(x.get() if hasattr(x, "get") else x)


def compute(molecule: Molecule, method: Method, gradient: bool = False,
            device: str | None = None, threads: int | None = None,
            max_memory_mb: int | None = None, dm0=None,
            settings: Settings | None = None) -> EnergyResult:
    """Single-point energy (and optionally gradient) of ``molecule`` at ``method``.

    Parameters
    ----------
    molecule : geometry in Å with charge, multiplicity and ghost atoms.
    method : level of theory.
    gradient : also return the nuclear gradient (Hartree/Bohr).
    device : ``cpu``, ``gpu`` or ``auto`` (default: the settings').
    threads : CPU threads for PySCF (default: the settings', else PySCF's default).
    max_memory_mb : PySCF memory (default: the settings', else 60 % of physical memory).
    dm0 : initial density matrix (default: an SCF checkpoint of an earlier sitting, else for an
        energy on the CPU stored densities that share its atoms (:mod:`.densities`), else
        PySCF's minao guess).
    settings : the environment's choices (default: ``current_settings()``).

    Raises
    ------
    SCFNotConverged
        when every step of the ladder fails.
    """
    from pyscf import lib

    t0 = time.perf_counter()
    settings = settings or current_settings()
    threads = threads or settings.threads or lib.num_threads()
    lib.num_threads(threads)
    dev = choose_device(device, settings)
    mol = build_mol(molecule, method, max_memory_mb or default_max_memory_mb(settings))
    plan = plan_scf(mol, method, dev, max_memory_mb=int(mol.max_memory)).to_dict() \
        if method.density_fit else {"density_fit": False}
    run_method = method if plan["density_fit"] == method.density_fit else \
        replace(method, density_fit=False)
    checkpoint, resumed = ScfCheckpoint.start(molecule, method, settings, int(mol.nao)) \
        if dev == "cpu" else (None, None)
    dm0 = dm0 if resumed is None else resumed
    densities = DensityStore.of(settings) if dev == "cpu" and not gradient else None
    guess = None
    if dm0 is None and densities is not None:
        dm0, guess = densities.guess(molecule, method, mol)
    label = molecule.name or molecule.formula
    chkfile = str(checkpoint.path) if checkpoint is not None else None
    finished = False
    try:
        try:
            mf, tried, cycles = _run_ladder(mol, run_method, dev, dm0, chkfile, label)
        except MemoryError as exc:  # cupy's OutOfMemoryError is a MemoryError too
            if not run_method.density_fit:
                raise
            plan.update(density_fit=False, fallback=f"direct SCF after out-of-memory: {exc}")
            mf, tried, cycles = _run_ladder(mol, replace(method, density_fit=False), dev, dm0,
                                            chkfile, label)
        if not mf.converged:
            finished = True
            raise SCFNotConverged(
                f"{molecule.name or molecule.formula}: SCF did not converge with "
                f"{', '.join(tried)} ({cycles} cycles, last E = {float(mf.e_tot):.8f} Eh)")
        e_tot = float(mf.e_tot)
        e_check = None
        if energy_check_wanted(dev, settings):
            e_check = abs(float(mf.energy_tot(mf.make_rdm1())) - e_tot)
        e_disp = float(mf.scf_summary.get("dispersion", 0.0) or 0.0)
        grad = None
        if gradient:
            g = mf.nuc_grad_method().kernel()
            grad = _to_numpy(g).tolist()
        if densities is not None:
            densities.save(molecule, method, mol, mf)
        finished = True
    finally:
        if checkpoint is not None:
            checkpoint.release(keep=not finished)
    name = gpu_name() if dev == "gpu" else None
    s2 = float(mf.spin_square()[0]) if mol.spin != 0 else None
    solvent = None
    if getattr(mf, "with_solvent", None) is not None:
        solvent = {"model": method.solvent, "eps": float(mf.with_solvent.eps)}
    return EnergyResult(
        energy=e_tot, dispersion_energy=e_disp, converged=True, scf_cycles=cycles,
        scf_strategy=tried[-1], strategies_tried=tried, energy_check=e_check,
        energy_check_ok=None if e_check is None else e_check <= ENERGY_CHECK_TOLERANCE,
        device=f"gpu:{name}" if name else "cpu", wall_s=time.perf_counter() - t0,
        nao=int(mol.nao), threads=threads, versions=software_versions(), scf_plan=plan,
        gradient=grad, s2=s2, solvent=solvent,
        scf_restart=checkpoint.restart if checkpoint is not None else None, scf_guess=guess)


SCF_PROGRESS_S = 300.0
"""A long SCF says where it stands at most this often (s, wall); one that converges sooner
says nothing."""


class ScfProgress:
    """``mf.callback``: one line on stdout per SCF cycle, at most every ``every`` seconds, so a
    single point that runs for hours shows its cycle, energy and convergence as it goes."""

    def __init__(self, label: str, every: float | None = None) -> None:
        self.label, self.every = label, SCF_PROGRESS_S if every is None else every
        self.strategy = LADDER[0]
        self.t0 = self.last = time.perf_counter()

    def __call__(self, envs: dict) -> None:
        now = time.perf_counter()
        if now - self.last < self.every:
            return
        self.last = now
        try:  # the SCF kernels name their locals differently (second-order: imacro)
            cycle = int(envs.get("cycle", envs.get("imacro", -1))) + 1
            e_tot, last = float(envs["e_tot"]), float(envs.get("last_hf_e", envs["e_tot"]))
            grad = float(envs.get("norm_gorb", float("nan")))
        except (KeyError, TypeError, ValueError):
            return  # progress never stops an SCF
        print(f"    {self.label}: SCF cycle {cycle} ({self.strategy}), E = {e_tot:.8f} Eh, "
              f"ΔE = {e_tot - last:.1e} Eh, |g| = {grad:.1e}, {now - self.t0:.0f} s",
              flush=True)


def _run_ladder(mol, method: Method, device: str, dm0, chkfile: str | None = None,
                label: str = "") -> tuple[Any, list[str], int]:
    """Run the SCF fallback ladder; returns (mean-field object, strategies tried, cycles).

    ``chkfile``: where PySCF writes the orbitals after every cycle (default: its own
    temporary file); ``label``: the calculation's name in progress lines (:class:`ScfProgress`)."""
    mf = build_scf(mol, method, device)
    if chkfile is not None:
        mf.chkfile = chkfile
    progress = ScfProgress(label or "SCF")
    tried: list[str] = []
    cycles = 0
    dm = dm0
    for strategy in LADDER:
        tried.append(strategy)
        mf = _apply_strategy(mf, strategy)
        progress.strategy = strategy
        mf.callback = progress
        mf.kernel(dm0=dm)
        cycles += int(getattr(mf, "cycles", 0) or 0)
        if mf.converged:
            break
        dm = mf.make_rdm1()
    return mf, tried, cycles


def optimize(molecule: Molecule, method: Method, max_steps: int = 100,
             device: str | None = None, fixed: tuple[int, ...] = (),
             settings: Settings | None = None) -> tuple[Molecule, float]:
    """Relax ``molecule`` at ``method`` with geomeTRIC; returns (relaxed molecule, energy in Eh).

    ``fixed``: 0-based indices of atoms frozen in place (geomeTRIC ``$freeze``).
    """
    import tempfile

    from pyscf.geomopt.geometric_solver import kernel as geometric_kernel

    from .geomopt import GEOMETRIC_LOG_INI, freeze_constraints

    if molecule.ghosts:
        raise ValueError("cannot optimise a molecule with ghost atoms")
    mol = build_mol(molecule, method)
    mf = build_scf(mol, method, choose_device(device, settings))
    with tempfile.TemporaryDirectory() as tmp:
        converged, mol_eq = geometric_kernel(mf, maxsteps=max_steps,
                                             constraints=freeze_constraints(tmp, fixed),
                                             logIni=GEOMETRIC_LOG_INI)
    if not converged:
        raise SCFNotConverged(f"{molecule.name}: geometry optimisation did not converge in "
                              f"{max_steps} steps")
    pos = mol_eq.atom_coords(unit="Angstrom")
    relaxed = Molecule.from_arrays(molecule.symbols, pos, molecule.charge, molecule.multiplicity,
                                   name=molecule.name)
    return relaxed, float(compute(relaxed, method, device=device, settings=settings).energy)

