"""Minimum-energy paths and barriers: endpoints, IDPP interpolation, climbing-image NEB.

Definitions (eV): E_a(forward) = max over the converged band − E(initial state);
E_a(reverse) = max − E(final state). The band is ASE's NEB with the ``improvedtangent`` method and
a climbing image, optimised with FIRE until the largest NEB force is below ``fmax`` (eV/Å).

Two modes:

``dft``
    every force call is a PySCF gradient at the campaign's method; each image has its own
    calculator.
``xtb-path``
    the band is converged with GFN2-xTB (tblite), then every image gets a DFT single point;
    the barrier is labelled ``DFT//GFN2-xTB``. GFN2-xTB never reports an energy itself.

Restart: after every optimiser step the whole band is written atomically to
``<workdir>/band.xyz`` with the step count in ``<workdir>/state.json``; a killed run started
again with the same path and method resumes from the last band. A band that fails part-way (an
image's SCF does not converge) is saved and reported with ``status = failed`` and the reason.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Callable

import numpy as np
from ase import Atoms
from ase.calculators.calculator import Calculator, all_changes
from ase.units import Hartree

from .engines.calculator import EngineCalculator, structure_of
from .errors import InputError, ScreeningError
from .geometry import Molecule, superpose
from .methods import Method
from .settings import Settings
from .specs import PathResult, PathSpec

EnergyOf = Callable[[Molecule, str], float]
"""``energy(molecule, job)``: the molecule's energy (Hartree) at the path's method, from the
caller's results store or computed; ``job`` labels it (e.g. ``"<path> :: image 2"``)."""

MODES = ("dft", "xtb-path")

SAME_BAND_ANGSTROM = 1e-3
"""RMSD (Å) within which a stored band's ends count as this path's ends (its start band)."""
IDENTICAL_ANGSTROM = 0.1
"""Endpoints whose largest atomic displacement is below this (Å) are refused as identical."""
MERGED_ANGSTROM = 0.5
"""Relaxed endpoints whose mobile atoms (the hopping ion and its guest) all lie closer than this
(Å) fell into the same minimum."""


def endpoint_shifts(initial: Molecule, final: Molecule, fixed: tuple[int, ...] = ()
                    ) -> np.ndarray:
    """Displacement (Å) of each atom from the initial to the final state. Without ``fixed``
    atoms the final state is first superposed on the initial one: a rigid translation or
    rotation of the whole system is no path (and NEB removes it)."""
    from .geometry import superpose

    target = np.asarray(initial.positions)
    moved = np.asarray(final.positions) if fixed else superpose(final.positions, target)
    return np.linalg.norm(moved - target, axis=1)


def check_endpoints(initial: Molecule, final: Molecule, source: str | None = None,
                    fixed: tuple[int, ...] = ()) -> None:
    """Refuse endpoints that differ in atoms, order, charge or spin, that are identical (up to
    a rigid motion when no atoms are fixed, see :func:`endpoint_shifts`), or whose only moving
    atoms are ``fixed`` (the band could only interpolate them: no path is searched)."""
    if initial.natoms != final.natoms:
        raise InputError(f"endpoints have different atom counts: {initial.natoms} and "
                         f"{final.natoms}", source)
    if initial.symbols != final.symbols:
        i = next(k for k, (a, b) in enumerate(zip(initial.symbols, final.symbols)) if a != b)
        raise InputError(f"endpoints list atoms in a different order: atom {i} is "
                         f"{initial.symbols[i]} in one and {final.symbols[i]} in the other", source)
    if (initial.charge, initial.multiplicity) != (final.charge, final.multiplicity):
        raise InputError("endpoints differ in charge or multiplicity", source)
    shifts = endpoint_shifts(initial, final, fixed)
    if shifts.max() < IDENTICAL_ANGSTROM:
        raise InputError(f"endpoints are identical (largest displacement {shifts.max():.3f} Å < "
                         f"{IDENTICAL_ANGSTROM} Å)", source)
    free = sorted(set(range(initial.natoms)) - set(fixed))
    if fixed and (not free or shifts[free].max() < IDENTICAL_ANGSTROM):
        raise InputError("every atom that moves between the endpoints is fixed, so the band "
                         "could only interpolate them; leave the moving ion (and its "
                         "neighbours) out of fixed:", source, field="fixed")


class EndpointCalculator(Calculator):
    """A fixed endpoint: its stored energy (eV) whatever rigid rotation NEB applies to it."""

    implemented_properties = ["energy", "forces"]

    def __init__(self, energy_ev: float, **kwargs) -> None:
        super().__init__(**kwargs)
        self.energy_ev = energy_ev

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes) -> None:
        super().calculate(atoms, properties, system_changes)
        self.results = {"energy": self.energy_ev, "forces": np.zeros((len(self.atoms), 3))}


def xtb_calculator(charge: int, multiplicity: int, counter: list[int]) -> Calculator:
    """A GFN2-xTB calculator (tblite) that counts its force calls."""
    from tblite.ase import TBLite

    class Counted(TBLite):
        def calculate(self, *args, **kwargs):
            counter[0] += 1
            return super().calculate(*args, **kwargs)

    return Counted(method="GFN2-xTB", charge=charge, multiplicity=multiplicity, verbosity=0)


def _atoms(mol: Molecule) -> Atoms:
    return mol.to_atoms(include_ghosts=False)


def _write_band(workdir: Path, band: list[Atoms], step: int, key: str) -> None:
    import ase.io

    tmp = workdir / "band.xyz.tmp"
    ase.io.write(tmp, [Atoms(a.get_chemical_symbols(), a.positions) for a in band],
                 format="extxyz")
    os.replace(tmp, workdir / "band.xyz")
    state = workdir / "state.json.tmp"
    state.write_text(json.dumps({"path_key": key, "step": step}))
    os.replace(state, workdir / "state.json")


def _read_band(workdir: Path, key: str, n: int) -> tuple[list[np.ndarray], int] | None:
    import ase.io

    try:
        state = json.loads((workdir / "state.json").read_text())
        frames = ase.io.read(workdir / "band.xyz", index=":")
    except (OSError, ValueError):
        return None
    if state.get("path_key") != key or len(frames) != n:
        return None
    return [f.positions.copy() for f in frames], int(state["step"])


def relaxed_endpoints(spec: PathSpec, method: Method, workdir: Path,
                      say: Callable[[str], None], settings: Settings | None = None) -> PathSpec:
    """``spec`` with both endpoints relaxed: GFN2-xTB if ``prerelax``, then geomeTRIC at
    ``method`` if ``relax_endpoints`` (each cached in ``workdir``). Raises InputError if the two
    relaxed states are the same minimum. The GFN2-xTB stage runs on one thread, so the same
    path at another method gets the same endpoints to the bit and can start from a band
    converged before (:meth:`ResultStore.converged_band`)."""
    from dataclasses import replace

    from .engines import relaxed
    from .engines.xtb import xtb_relaxed
    from .geometry import read_xyz, write_xyz

    stages = [(stage, relax) for stage, relax, wanted in (
        ("xtb", lambda m: xtb_relaxed(m, fixed=list(spec.fixed), deterministic=True)[0],
         spec.prerelax),
        ("relaxed", lambda m: relaxed(m, method, fixed=spec.fixed, settings=settings)[0],
         spec.relax_endpoints))
        if wanted]
    ends = []
    for label, mol in (("initial", spec.initial), ("final", spec.final)):
        for stage, relax in stages:
            cached = workdir / f"{label}_{stage}.xyz"
            if cached.exists():
                mol = replace(read_xyz(cached, mol.charge, mol.multiplicity, name=mol.name),
                              model=mol.model)
                continue
            t0 = time.perf_counter()
            mol = replace(relax(mol), model=mol.model)
            write_xyz(mol, cached)
            say(f"{spec.name}: {label} state relaxed with "
                f"{'GFN2-xTB' if stage == 'xtb' else method.label} in "
                f"{time.perf_counter() - t0:.0f} s")
        ends.append(mol)
    check_distinct_minima(ends[0], ends[1], spec.mobile, spec.fixed)
    return replace(spec, initial=ends[0], final=ends[1], relax_endpoints=False, prerelax=False)


def check_distinct_minima(initial: Molecule, final: Molecule, mobile: tuple[int, ...] = (),
                          fixed: tuple[int, ...] = ()) -> None:
    """Refuse relaxed endpoints that are the same minimum: identical by
    :func:`check_endpoints`, or (with ``mobile`` atoms) the mobile atoms all within
    ``MERGED_ANGSTROM``."""
    try:
        check_endpoints(initial, final, fixed=fixed)
    except InputError as exc:
        raise InputError(f"after relaxation, {exc.message}: both states fall into the same "
                         "minimum") from None
    shift = endpoint_shifts(initial, final, fixed)[list(mobile)].max() if mobile else None
    if shift is not None and shift < MERGED_ANGSTROM:
        raise InputError(f"after relaxation the mobile atoms of the two states are at most "
                         f"{shift:.2f} Å apart (< {MERGED_ANGSTROM} Å): both states fall into "
                         "the same minimum; choose other anchors (from:, to:)")


def run_path(spec: PathSpec, method: Method, workdir: str | Path, energy: EnergyOf,
             progress: Callable[[str], None] | None = None,
             settings: Settings | None = None,
             start_band: list[np.ndarray] | None = None) -> PathResult:
    """Converge the band of ``spec`` and return its barrier.

    Stores nothing: endpoint and image energies come from ``energy`` (the caller's store), and
    the single points the band computed itself come back in ``PathResult.computed`` for the
    caller to store with the path record. ``start_band``: image positions (Å, endpoints
    included) of a band converged before on the same endpoints (an ``xtb-path`` band of another
    tier); without a saved band to resume, the band starts there instead of from an IDPP
    interpolation, if its ends are this path's (:data:`SAME_BAND_ANGSTROM`).
    """
    from ase.constraints import FixAtoms
    from ase.mep import NEB
    from ase.optimize import FIRE

    if spec.mode not in MODES:
        raise InputError(f"mode must be one of {', '.join(MODES)}, got {spec.mode!r}")
    check_endpoints(spec.initial, spec.final, fixed=spec.fixed)
    say = progress or (lambda _m: None)
    key = spec.key(method)
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    if spec.relaxes:
        try:
            spec = relaxed_endpoints(spec, method, workdir, say, settings)
        except ScreeningError as exc:  # merged minima or a failed relaxation: a failed path
            say(f"{spec.name}: {exc}")
            band = [_atoms(spec.initial), _atoms(spec.final)]
            return _summarise(spec, method, key, band, [None, None], [], "failed",
                              str(exc), None, 0, 0, time.perf_counter() - t0)
    e_ini, e_fin = (energy(mol, f"{spec.name} :: {end}")
                    for mol, end in ((spec.initial, "initial"), (spec.final, "final")))
    n = spec.images + 2
    band = [_atoms(spec.initial)] + [_atoms(spec.initial) for _ in range(spec.images)] + \
        [_atoms(spec.final)]
    restart = _read_band(workdir, key, n)
    start_step = 0
    if restart:
        positions, start_step = restart
        for a, p in zip(band, positions):
            a.positions = p
        say(f"{spec.name}: resuming from the band saved at step {start_step}")
    counter = [0]
    q, m = spec.initial.charge, spec.initial.multiplicity
    if spec.fixed:
        for a in band:
            a.set_constraint(FixAtoms(indices=list(spec.fixed)))
    neb = NEB(band, k=spec.spring, climb=True, method="improvedtangent",
              remove_rotation_and_translation=not spec.fixed)
    if not restart:
        if _same_ends(start_band, band):
            for a, p in zip(band, start_band):
                a.positions = p
            say(f"{spec.name}: starting from the GFN2-xTB band converged at another tier")
        else:
            neb.interpolate(method="idpp", apply_constraint=True)
        _write_band(workdir, band, 0, key)
    # calculators after interpolation (which may rotate the final image onto the initial one)
    for i, a in enumerate(band):
        if i in (0, n - 1):
            if spec.mode == "dft":
                e = (e_ini if i == 0 else e_fin) * Hartree
            else:  # the xTB band needs xTB endpoint energies
                e = xtb_calculator(q, m, counter).get_potential_energy(a)
            a.calc = EndpointCalculator(e)
        elif spec.mode == "dft":
            a.calc = EngineCalculator(method, q, m, counter, settings, spec.initial.model)
        else:
            a.calc = xtb_calculator(q, m, counter)
    opt = FIRE(neb, logfile=None)
    steps = [start_step]

    def checkpoint() -> None:
        steps[0] += 1
        _write_band(workdir, band, steps[0], key)
        fmax = float(np.sqrt((neb.get_forces() ** 2).sum(axis=1).max()))
        say(f"{spec.name}: step {steps[0]}  max force {fmax:.3f} eV/Å  force calls {counter[0]}")

    opt.attach(checkpoint, interval=1)
    status, reason = "converged", ""
    try:
        done = opt.run(fmax=spec.fmax, steps=max(spec.max_steps - start_step, 0))
        if not done:
            status, reason = "not converged", f"max force above {spec.fmax} eV/Å after " \
                                              f"{steps[0]} steps"
    except ScreeningError as exc:  # an image's SCF failed: keep and report the band
        status, reason = "failed", str(exc)
    max_force = None
    if status != "failed":
        max_force = float(np.sqrt((neb.get_forces() ** 2).sum(axis=1).max()))
    energies_h, computed = _final_energies(spec, band, e_ini, e_fin, energy, status)
    return _summarise(spec, method, key, band, energies_h, computed, status, reason, max_force,
                      steps[0], counter[0], time.perf_counter() - t0)


def _same_ends(start_band: list[np.ndarray] | None, band: list[Atoms]) -> bool:
    """Whether ``start_band`` has as many images as ``band`` and its ends lie within
    :data:`SAME_BAND_ANGSTROM` (RMSD after superposition) of ``band``'s."""
    if start_band is None or len(start_band) != len(band):
        return False
    return all(np.sqrt(((superpose(start_band[i], band[i].positions) - band[i].positions) ** 2)
                       .sum(axis=1).mean()) < SAME_BAND_ANGSTROM for i in (0, -1))


def _final_energies(spec: PathSpec, band: list[Atoms], e_ini: float, e_fin: float,
                    energy: EnergyOf, status: str
                    ) -> tuple[list[float | None], list[tuple[Molecule, dict]]]:
    """DFT energies (Hartree) of every image of the final band, and the single points the band
    computed itself (to be stored by the caller)."""
    out: list[float | None] = [e_ini]
    computed: list[tuple[Molecule, dict]] = []
    q, m = spec.initial.charge, spec.initial.multiplicity
    for i, a in enumerate(band[1:-1], start=1):
        mol = structure_of(a, q, m, spec.initial.model, name=f"{spec.name} image {i}")
        calc = a.calc
        if isinstance(calc, EngineCalculator) and calc.last and calc.last[0].key() == mol.key():
            computed.append((mol, calc.last[1]))
            out.append(float(calc.last[1]["energy"]))
        elif status == "failed":
            out.append(None)
        else:
            out.append(energy(mol, f"{spec.name} :: image {i}"))
    out.append(e_fin)
    return out, computed


def _summarise(spec: PathSpec, method: Method, key: str, band: list[Atoms],
               energies_h: list[float | None], computed: list[tuple[Molecule, dict]],
               status: str, reason: str, max_force: float | None, steps: int, calls: int,
               wall: float) -> PathResult:
    rel = [None if e is None else (e - energies_h[0]) * Hartree for e in energies_h]
    known = [(v, i) for i, v in enumerate(rel) if v is not None]
    top, imax = max(known) if known else (None, None)
    label = method.label if spec.mode == "dft" else f"{method.label}//GFN2-xTB"
    result = PathResult(
        name=spec.name, path_key=key, mode=spec.mode, method=label, status=status,
        energies_eV=[float("nan") if v is None else v for v in rel],
        forward_eV=None if status == "failed" else top,
        reverse_eV=None if status == "failed" or rel[-1] is None else top - rel[-1],
        climbing_image=imax, max_force_eV_A=max_force, steps=steps, force_calls=calls,
        wall_s=wall, reason=reason,
        images=[{"symbols": a.get_chemical_symbols(), "positions": a.positions.tolist()}
                for a in band], computed=computed)
    return result
