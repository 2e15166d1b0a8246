"""FireTasks (one energy, one NEB path, one placement, the collector). Every task is
idempotent: a stored result is reused (:mod:`.stored` computes what is absent). The tasks store
what the algorithms return; the algorithms themselves never touch the results database."""

from __future__ import annotations

from fireworks import Firework, FiretaskBase, FWAction, explicit_serialize
from fireworks.user_objects.dupefinders.dupefinder_exact import DupeFinderExact

from ..geometry import Molecule
from ..methods import Method
from ..specs import PathSpec, calc_key
from ..store import ResultStore
from .stored import calculate, compute_path

GPU_CATEGORY = "gpu"


GHOST_FREE_FIRST = 5000
"""Added to the FireWorks priority of a single point without ghost atoms (placements: 10 000)."""


def energy_priority(natoms: int, has_ghosts: bool) -> int:
    """FireWorks ``_priority`` of a single point: structures without ghost atoms before the
    counterpoise terms (their converged densities are the stored starts of those terms,
    :mod:`screening.engines.densities`), the largest first within each group, all after the
    placements."""
    return natoms + (0 if has_ghosts else GHOST_FREE_FIRST)


def energy_firework(mol: Molecule, method: Method, db: str, labels: dict,
                    gpu: bool = False) -> Firework:
    """One single-point Firework (ordered by :func:`energy_priority`; exact duplicates
    merged)."""
    spec = {"_priority": energy_priority(mol.natoms, bool(mol.ghosts)),
            "_dupefinder": DupeFinderExact(),
            "calc_key": calc_key(mol, method)}
    if gpu:
        spec["_category"] = GPU_CATEGORY
    task = EnergyTask(molecule=mol.to_dict(), method=method.to_dict(), db=db, labels=labels)
    return Firework([task], spec=spec, name=labels["job"][:200])


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
        spec = PathSpec.from_dict(self["path"])
        result = compute_path(spec, Method(**self["method"]), ResultStore(self["db"]),
                              self["workdir"], self.get("labels"),
                              progress=lambda m: print(m, flush=True))
        return FWAction(stored_data={k: getattr(result, k) for k in
                                     ("path_key", "status", "forward_eV", "reverse_eV",
                                      "force_calls", "steps", "reason")})


def energy_fireworks(lp, fw_id: int, fields: dict | None = None) -> list[dict]:
    """The energy Fireworks (documents, ``fields`` of them if given) of the workflow that holds
    Firework ``fw_id``."""
    nodes = lp.workflows.find_one({"nodes": fw_id}, {"nodes": 1})["nodes"]
    return list(lp.fireworks.find({"fw_id": {"$in": nodes}, "spec.calc_key": {"$exists": True}},
                                  fields))


def _queued(lp, fw_id: int | None) -> set[str]:
    """The calc keys of the energy Fireworks in the workflow of Firework ``fw_id`` (none without
    a LaunchPad: a workflow stored before placements were given one)."""
    if lp is None or fw_id is None:
        return set()
    return {fw["spec"]["calc_key"] for fw in energy_fireworks(lp, fw_id, {"spec.calc_key": 1})}


@explicit_serialize
class PlaceTask(FiretaskBase):
    """Search the structures of one placement spec (guests placed in a host, or a salt's
    separated state; GFN2-xTB ranking, :mod:`screening.complexes`), store the kept poses, then
    insert one energy Firework per calculation the quantity's rows now add (``expand``) before
    this Firework's children (a FireWorks detour), so the collector waits for them. A
    calculation the workflow already holds is not added again (the Firework's spec sets
    ``_add_launchpad_and_fw_id``, so FireWorks hands the task its LaunchPad).

    Required params: ``quantity`` (quantity_to_dict), ``method``, ``db``. Optional:
    ``placement`` (which of the quantity's specs; default its first), ``gpu`` (route the new
    Fireworks to GPU workers), ``labels``.
    """

    required_params = ["quantity", "method", "db"]
    optional_params = ["placement", "gpu", "labels"]

    def run_task(self, fw_spec: dict) -> FWAction:
        from ..complexes import run_placement
        from ..hosts import get_host
        from ..quantities import quantity_from_dict
        from ..specs import PlacementSpec

        q = quantity_from_dict(self["quantity"])
        spec = PlacementSpec.from_dict(self["placement"]) if self.get("placement") else \
            q.placements[0]
        store = ResultStore(self["db"])
        key = spec.key()
        poses = store.get_poses(key)
        placed = poses is None
        if placed:
            host = get_host(spec.host_name, **dict(spec.host_options))
            poses = run_placement(spec, host, progress=lambda m: print(m, flush=True))
            store.put_poses(key, poses, self.get("labels"))
        method = Method(**self["method"])
        # The calculations its rows add once searched (a salt's dissociation: once both of its
        # states are, with their joint ONIOM region), less those the workflow already holds:
        # where both searches were stored before, the first one to run queues both states.
        seen = {calc_key(m, method) for m in q.molecules()} | _queued(
            getattr(self, "launchpad", None), getattr(self, "fw_id", None))
        fws = []
        for row in q.expand(store.get_poses, method):
            for mol in row.molecules():
                if (calc := calc_key(mol, method)) not in seen:
                    seen.add(calc)
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
