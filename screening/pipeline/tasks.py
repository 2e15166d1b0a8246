"""FireTasks: one energy, and the collector. Both are idempotent: a stored result is reused."""

from __future__ import annotations

import time

from fireworks import FiretaskBase, FWAction, explicit_serialize

from ..geometry import Molecule
from ..methods import Method
from ..store import ResultStore


def calculate(molecule: dict | Molecule, method: dict | Method, db: str,
              labels: dict | None = None) -> dict:
    """Energy of ``molecule`` at ``method`` from the store ``db``, computed and committed if absent.

    Returns a summary: calc_key, energy (Hartree), computed (bool), wall_s.
    """
    mol = molecule if isinstance(molecule, Molecule) else Molecule.from_dict(molecule)
    meth = method if isinstance(method, Method) else Method(**method)
    t0 = time.perf_counter()
    rec, computed = ResultStore(db).energy_of(mol, meth, labels)
    return {"calc_key": rec.calc_key, "energy_hartree": rec.energy, "computed": computed,
            "wall_s": time.perf_counter() - t0}


@explicit_serialize
class EnergyTask(FiretaskBase):
    """Single-point energy through the results store (computes only if not stored).

    Required params: ``molecule`` (Molecule.to_dict()), ``method`` (Method.to_dict()),
    ``db`` (results database path or URL). Optional: ``labels`` (campaign, job).
    """

    required_params = ["molecule", "method", "db"]
    optional_params = ["labels"]

    def run_task(self, fw_spec: dict) -> FWAction:
        summary = calculate(self["molecule"], self["method"], self["db"], self.get("labels"))
        return FWAction(stored_data=summary)


@explicit_serialize
class PathTask(FiretaskBase):
    """Climbing-image NEB of one path (see :mod:`screening.neb`); resumes from its saved band.

    Required params: ``path`` (PathSpec.to_dict()), ``method``, ``db``, ``workdir`` (folder for
    the band checkpoints). Optional: ``labels``.
    """

    required_params = ["path", "method", "db", "workdir"]
    optional_params = ["labels"]

    def run_task(self, fw_spec: dict) -> FWAction:
        from ..neb import PathSpec, run_path

        spec = PathSpec.from_dict(self["path"])
        result = run_path(spec, Method(**self["method"]), ResultStore(self["db"]),
                          self["workdir"], self.get("labels"),
                          progress=lambda m: print(m, flush=True))
        return FWAction(stored_data={k: getattr(result, k) for k in
                                     ("path_key", "status", "forward_eV", "reverse_eV",
                                      "force_calls", "steps", "reason")})


@explicit_serialize
class PlaceTask(FiretaskBase):
    """Place a guest in a host (GFN2-xTB ranking, :mod:`screening.placement`), store the kept
    poses, then insert one energy Firework per pose calculation before this Firework's children
    (a FireWorks detour), so the collector waits for them.

    Required params: ``quantity`` (quantity_to_dict of a placement quantity), ``method``, ``db``.
    Optional: ``gpu`` (route the new Fireworks to GPU workers), ``labels``.
    """

    required_params = ["quantity", "method", "db"]
    optional_params = ["gpu", "labels"]

    def run_task(self, fw_spec: dict) -> FWAction:
        from ..placement import pose_quantity, run_placement
        from ..quantities import quantity_from_dict
        from .workflow import energy_firework

        q = quantity_from_dict(self["quantity"])
        spec = q.placement
        store = ResultStore(self["db"])
        key = spec.key()
        poses = store.get_poses(key)
        placed = poses is None
        if placed:
            poses = run_placement(spec, progress=lambda m: print(m, flush=True))
            store.put_poses(key, poses, self.get("labels"))
        method = Method(**self["method"])
        known = {m.key() for m in q.molecules()}
        fws, seen = [], set(known)
        for pose in poses:
            for mol in pose_quantity(q, pose).molecules():
                if mol.key() not in seen:
                    seen.add(mol.key())
                    labels = {**(self.get("labels") or {}), "job": f"{q.name} :: {mol.name}"}
                    fws.append(energy_firework(mol, method, self["db"], labels,
                                               self.get("gpu", False)))
        return FWAction(stored_data={"placement_key": key, "poses": len(poses),
                                     "placed": placed, "calculations": len(fws)},
                        detours=fws or None)


@explicit_serialize
class CollectTask(FiretaskBase):
    """Tabulate a campaign's quantities from the store; writes CSV and a figure to ``output``.

    Required params: ``campaign`` (Campaign.to_dict()), ``db``, ``output`` (folder). A missing
    energy (a failed parent) gives an empty cell and a note in the ``missing`` column.
    """

    required_params = ["campaign", "db", "output"]

    def run_task(self, fw_spec: dict) -> FWAction:
        from ..campaign import Campaign
        from ..collect import collect, write_outputs

        campaign = Campaign.from_dict(self["campaign"])
        store = ResultStore(self["db"])
        table = collect(campaign, store)
        paths = write_outputs(table, self["output"], campaign.name, campaign, store)
        n_missing = int((table["missing"] != "").sum())
        return FWAction(stored_data={"rows": len(table), "missing": n_missing,
                                     "files": [str(p) for p in paths]})
