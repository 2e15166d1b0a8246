"""Energies and NEB paths taken from the results database, computed and committed if absent:
what the FireTasks (:mod:`screening.pipeline.tasks`) and the Python API run. No FireWorks here,
so ``screening.api.energy`` does not import it before ``run_campaign`` has chosen the embedded
store file (which FireWorks reads when it is first imported)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

from ..geometry import Molecule
from ..methods import Method
from ..settings import Settings
from ..specs import PathResult, PathSpec
from ..store import ResultStore


def calculate(molecule: dict | Molecule, method: dict | Method, db: str,
              labels: dict | None = None, settings: Settings | dict | None = None) -> dict:
    """Energy of ``molecule`` at ``method`` from the store ``db``, computed and committed if absent.

    Returns a summary: calc_key, energy (Hartree), computed (bool), wall_s, and
    ``scf_restart`` (the record's: sittings and earlier seconds of a resumed SCF, else None).
    """
    mol = molecule if isinstance(molecule, Molecule) else Molecule.from_dict(molecule)
    meth = method if isinstance(method, Method) else Method(**method)
    if isinstance(settings, dict):
        settings = Settings(**settings)
    t0 = time.perf_counter()
    rec, computed = ResultStore(db).energy_of(mol, meth, labels, settings)
    return {"calc_key": rec.calc_key, "energy_hartree": rec.energy, "computed": computed,
            "wall_s": time.perf_counter() - t0,
            "scf_restart": (rec.data.get("result") or {}).get("scf_restart")}


def compute_path(spec: PathSpec, method: Method, store: ResultStore, workdir: str | Path,
                 labels: dict | None = None, progress: Callable[[str], None] | None = None,
                 settings: Settings | None = None) -> PathResult:
    """Run the band of ``spec`` (:func:`screening.neb.run_path`) with its endpoint and image
    energies taken from (or committed to) ``store``, then store the path record. A path
    already stored (say, imported) is returned as it is; a GFN2-xTB band (``xtb-path``) that
    the store holds for the same path at another method (another tier) is where the band
    starts."""
    from ..neb import run_path

    found = store.get_path(spec.key(method))
    if found is not None:
        return PathResult.from_dict(found)
    labels = labels or {}
    say = progress or (lambda _m: None)

    def energy(mol: Molecule, job: str) -> float:
        """``mol``'s energy (Hartree) from the store; one computed here is announced as it
        starts and ends, since a band's DFT single points can take an hour each."""
        fresh = store.get(mol, method) is None
        if fresh:
            say(f"  started {job} ({mol.natoms} atoms) at {time.strftime('%H:%M:%S')}")
        t0 = time.perf_counter()
        rec = store.energy_of(mol, method, {**labels, "job": job}, settings)[0]
        if fresh:
            say(f"  {job}: E = {rec.energy:.8f} Eh ({time.perf_counter() - t0:.1f} s)")
        return rec.energy

    result = run_path(spec, method, workdir, energy, progress, settings,
                      start_band=store.converged_band(spec))
    store.put_path(result, spec, method, labels)
    return result
