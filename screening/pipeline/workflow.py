"""Workflow factory: one Firework per calculation, one per NEB path, one per guest placement
(which adds its poses' calculations when it has run), one collector at the end."""

from __future__ import annotations

from pathlib import Path

from fireworks import Firework, Workflow

from ..campaign import Campaign
from ..quantities import quantity_to_dict
from .tasks import GPU_CATEGORY, CollectTask, PathTask, PlaceTask, energy_firework


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
        by_key[mol.key()] = energy_firework(mol, campaign.method, db, labels, gpu)
        fws.append(by_key[mol.key()])
    for q in campaign.quantities:  # one Firework per placement; it adds its poses' Fireworks
        # a quantity's searches run in turn, each told its workflow (to queue no calculation
        # twice): a dissociation's second search queues both states
        previous: list[Firework] = []
        for placement in q.placements:
            spec = {"_priority": 10_000, "placement_key": placement.key(),
                    "_add_launchpad_and_fw_id": True}
            task = PlaceTask(quantity=quantity_to_dict(q), placement=placement.to_dict(),
                             method=method, db=db, gpu=gpu,
                             labels={"campaign": campaign.name, "job": q.name})
            label = "place" if len(q.placements) == 1 else f"place {placement.mode}"
            previous = [Firework([task], spec=spec, parents=previous,
                                 name=f"{q.name} :: {label}")]
            fws += previous
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
        parents = [by_key[m.key()] for m in q.molecules()]  # unrelaxed endpoints, if any
        fws.append(Firework([task], spec=spec, parents=parents, name=f"{q.name} :: NEB"))
    collector = Firework(
        [CollectTask(campaign=campaign.to_dict(), db=db, output=str(Path(output).resolve()))],
        parents=fws, name=f"{campaign.name} :: collect",
        spec={"_allow_fizzled_parents": True, "_priority": 0})
    return Workflow(fws + [collector], name=f"screening:{campaign.name}",
                    metadata={"campaign": campaign.name, "campaign_key": campaign.key()})
