"""Workflow factory: one Firework per calculation, one per NEB path, one collector at the end."""

from __future__ import annotations

from pathlib import Path

from fireworks import Firework, Workflow
from fireworks.user_objects.dupefinders.dupefinder_exact import DupeFinderExact

from ..campaign import Campaign
from ..store import calc_key
from .tasks import CollectTask, EnergyTask, PathTask

GPU_CATEGORY = "gpu"


def build_workflow(campaign: Campaign, db: str, output: str | Path,
                   gpu: bool | None = None) -> Workflow:
    """The FireWorks workflow of ``campaign``.

    Parameters
    ----------
    db : results database (path or URL) every worker can reach.
    output : folder for the collector's CSV and figure.
    gpu : route calculations to workers of category ``gpu`` (default: the campaign's ``gpu:``).
        A worker with no category takes everything.
    """
    gpu = campaign.gpu if gpu is None else gpu
    method = campaign.method.to_dict()
    fws = []
    by_key: dict[str, Firework] = {}
    for mol, labels in campaign.calculations():
        spec = {"_priority": mol.natoms, "_dupefinder": DupeFinderExact(),
                "calc_key": calc_key(mol, campaign.method)}
        if gpu:
            spec["_category"] = GPU_CATEGORY
        task = EnergyTask(molecule=mol.to_dict(), method=method, db=db, labels=labels)
        by_key[mol.key()] = Firework([task], spec=spec, name=labels["job"][:200])
        fws.append(by_key[mol.key()])
    for q in campaign.quantities:  # one Firework per path, after its endpoints
        if q.path is None:
            continue
        key = q.path.key(campaign.method)
        spec = {"_priority": 1, "path_key": key}
        if gpu:
            spec["_category"] = GPU_CATEGORY
        task = PathTask(path=q.path.to_dict(), method=method, db=db,
                        workdir=str(Path(output).resolve() / "paths" / key),
                        labels={"campaign": campaign.name, "job": q.name})
        parents = [by_key[q.path.initial.key()], by_key[q.path.final.key()]]
        fws.append(Firework([task], spec=spec, parents=parents, name=f"{q.name} :: NEB"))
    collector = Firework(
        [CollectTask(campaign=campaign.to_dict(), db=db, output=str(Path(output).resolve()))],
        parents=fws, name=f"{campaign.name} :: collect",
        spec={"_allow_fizzled_parents": True, "_priority": 0})
    return Workflow(fws + [collector], name=f"screening:{campaign.name}",
                    metadata={"campaign": campaign.name, "campaign_key": campaign.key()})
