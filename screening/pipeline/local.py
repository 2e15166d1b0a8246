"""Run a campaign on this machine through FireWorks on the embedded store file (no server).

The embedded store loses work when several processes write it or when a process is killed
(see the README). So:

* one process only ever touches the store, and holds a lock on it while it runs;
* after every firework the store is written atomically (temp file + rename);
* energies live in the results database, committed the moment they exist; a firework whose
  energy is stored finishes at once, so a crash or a kill costs at most the calculation that
  was running, and a rerun recomputes nothing already stored;
* with ``workers > 1`` the energies are computed first by a process pool (each worker writes
  only to the results database), then the fireworks run in this process and find them stored.
"""

from __future__ import annotations

import contextlib
import os
import time
from concurrent.futures import as_completed
from pathlib import Path
from typing import Callable

import pandas as pd

from ..campaign import Campaign
from ..database import check_room, check_writable, is_url
from ..engines.checkpoint import ScfCheckpoint
from ..geometry import Molecule
from ..methods import Method
from ..settings import Settings, current_settings, use_settings
from ..specs import in_layers
from ..processes import spawn_pool
from ..store import ResultStore
from .launchpad import DEFAULT_STORE, embedded_launchpad, flush, lock_store

Progress = Callable[[str], None]


def _pool_worker(mol: dict, method: dict, db: str, labels: dict, settings: dict) -> dict:
    from .stored import calculate

    return calculate(mol, method, db, labels, settings)


def _pending_energies(lp, wf_id: int, results: ResultStore
                      ) -> tuple[list[tuple[dict, dict, dict]], int]:
    """(molecule, method, labels) of the workflow's energy Fireworks whose result is not stored,
    one per calculation (two quantities may share one), and the number of calculations in all."""
    from .tasks import energy_fireworks

    out, keys = [], set()
    for fw in energy_fireworks(lp, wf_id):
        key = fw["spec"]["calc_key"]
        if key not in keys:
            keys.add(key)
            if results.get_key(key) is None:
                task = fw["spec"]["_tasks"][0]
                out.append((task["molecule"], task["method"], task.get("labels") or {}))
    return out, len(keys)


def computing_order(todo: list) -> list:
    """``todo`` ((molecule dict, method, labels) each) in the order the pool takes it, that of
    the fireworks' priorities (:func:`~screening.pipeline.tasks.energy_priority`): structures
    without ghost atoms first, the largest first within each group."""
    from .tasks import energy_priority

    return sorted(todo, key=lambda t: -energy_priority(len(t[0]["symbols"]),
                                                       bool(t[0].get("ghosts"))))


def _precompute(todo: list, db: str, workers: int, progress: Progress,
                settings: Settings) -> None:
    """Compute the pending energies in a pool of ``workers`` processes, CPU threads shared out
    among them (unless the settings fix the threads per worker).

    The workers are spawned (:func:`screening.processes.spawn_pool`) and end with this
    process."""
    cores = os.cpu_count() or 1
    threads = settings.threads or max(1, cores // workers)
    if workers * threads > cores:
        progress(f"note: {workers} workers × {threads} threads = {workers * threads} threads on "
                 f"{cores} cores; oversubscribed threads wait on each other (give --threads "
                 f"{max(1, cores // workers)}, or fewer --workers)")
    worker_settings = settings.replace(threads=threads).to_dict()
    ordered = computing_order(todo)

    def started(i: int) -> None:
        """Say that the ``i``-th calculation starts (the pool takes them in order)."""
        if i < len(ordered):
            m, method, labels = ordered[i]
            progress(_start_line(m, method, labels["job"], settings))

    done = 0
    with spawn_pool(workers) as pool:
        futures = {pool.submit(_pool_worker, m, method, db, labels, worker_settings): labels
                   for m, method, labels in ordered}
        for i in range(workers):
            started(i)
        for fut in as_completed(futures):
            done += 1
            labels = futures[fut]
            try:
                s = fut.result()
                earlier = (s.get("scf_restart") or {}).get("earlier_wall_s")
                progress(f"[{done}/{len(todo)}] {labels['job']}: E = {s['energy_hartree']:.8f} Eh "
                         f"({s['wall_s']:.1f} s" + (f", after {earlier:.0f} s in earlier sittings"
                                                   if earlier is not None else "") + ")")
            except Exception as exc:  # reported again by its firework, which fizzles
                progress(f"[{done}/{len(todo)}] {labels['job']}: FAILED: {exc}")
            started(workers + done - 1)


def _start_line(molecule: dict, method: dict, job: str, settings: Settings) -> str:
    """The line that says a calculation starts: name, atoms, clock time, and whether its SCF
    resumes from a checkpoint of an earlier sitting (for ONIOM, the checkpoint of the DFT
    model's SCF)."""
    mol, level = Molecule.from_dict(molecule), Method(**method)
    if in_layers(mol, level):
        from ..engines.oniom import layers

        mol = layers(mol).model
    resumes = ScfCheckpoint.of(mol, level.high_level, settings).holds_orbitals()
    return (f"  started {job} ({len(molecule['symbols'])} atoms) at {time.strftime('%H:%M:%S')}"
            + (", resuming its SCF from a checkpoint" if resumes else ""))


def _find_or_add_workflow(lp, campaign: Campaign, db: str, output: Path) -> int:
    """The fw_ids of the campaign's workflow in ``lp``: the stored one if any, else a new one."""
    from .workflow import build_workflow

    ids = lp.get_wf_ids({"metadata.campaign_key": campaign.key()}, limit=1)
    if ids:
        wf = lp.get_wf_by_fw_id(ids[0])
        for fw in wf.fws:  # a killed run leaves RUNNING/RESERVED fireworks behind
            if fw.state in ("RUNNING", "RESERVED", "FIZZLED"):
                lp.rerun_fw(fw.fw_id)
        return ids[0]
    mapping = lp.add_wf(build_workflow(campaign, db, output, gpu=False))
    return min(mapping.values())


def run_local(campaign: Campaign, db: str | None = None, store: str | os.PathLike | None = None,
              output: str | os.PathLike | None = None, workers: int = 1,
              progress: Progress | None = print, settings: Settings | None = None,
              whole: Campaign | None = None) -> pd.DataFrame:
    """Run ``campaign`` here and return the quantities table (eV) it writes: ``campaign``'s, or
    ``whole``'s when given (:func:`screening.collect.rows_of` picks the part's rows from it).

    Parameters
    ----------
    db : results database (default ``$SCREENING_DB`` or ``results/screening.db``).
    store : embedded FireWorks store file (default ``results/fireworks_store.json``).
    output : folder for ``quantities.csv`` and ``quantities.png`` (default ``results/<name>``).
    workers : processes computing energies at once (threads are shared out among them).
    progress : callable receiving one line per event; None for silence.
    settings : the environment's choices (threads, device, memory) for every calculation of
        this run (default: ``current_settings()``).
    whole : the campaign ``campaign`` is a part of (``run --only``): the files written hold
        every quantity of ``whole`` from the database (those never computed as missing), so a
        run of one quantity does not drop the others' rows.
    """
    settings = (settings or current_settings()).replace(workers=workers)
    with use_settings(settings):
        return _run_local(campaign, db, store, output, workers, progress, settings, whole)


def _run_local(campaign: Campaign, db: str | None, store: str | os.PathLike | None,
               output: str | os.PathLike | None, workers: int, progress: Progress | None,
               settings: Settings, whole: Campaign | None = None) -> pd.DataFrame:
    import fireworks.core.rocket
    from fireworks import FWorker
    from fireworks.core.rocket_launcher import launch_rocket

    fireworks.core.rocket.ROCKET_STREAM_LOGLEVEL = "ERROR"  # our own progress lines instead
    # No ping thread: pings find lost jobs on clusters, while this run holds the store's lock
    # throughout; and the thread's last ping races the next launch in the embedded store.
    fireworks.core.rocket.start_ping_launch = lambda launchpad, launch_id: None

    say = progress or (lambda _msg: None)
    results = ResultStore(db)  # created, or checked complete and writable
    db_url = results.url
    store_path = Path(store or DEFAULT_STORE)
    output = Path(output or campaign.results_folder).resolve()
    check_writable(output, "output folder", "--output")
    if not is_url(db_url):
        check_room(Path(db_url), sum(campaign.size().values()))
    lock = lock_store(store_path)
    try:
        lp = embedded_launchpad(store_path)
        wf_id = _find_or_add_workflow(lp, campaign, db_url, output)
        flush(lp)
        launch_dir = store_path.resolve().parent / "launches"
        launch_dir.mkdir(parents=True, exist_ok=True)
        n_calcs = len(campaign.calculations())
        n_searches = sum(len(q.placements) for q in campaign.quantities)
        say(f"campaign {campaign.name}: {len(campaign.quantities)} quantities, {n_calcs} "
            f"calculations at {campaign.method.label}"
            + (f", {n_searches} structure searches (their poses add calculations)"
               if n_searches else ""))
        step = 0

        def launch(query: dict) -> bool:
            """Launch the next READY firework of the workflow matching ``query``."""
            nonlocal step
            nodes = lp.workflows.find_one({"nodes": wf_id}, {"nodes": 1})["nodes"]
            fw = lp.fireworks.find_one({"fw_id": {"$in": nodes}, "state": "READY", **query},
                                       {"fw_id": 1, "name": 1, "spec.calc_key": 1,
                                        "spec._tasks": 1}, sort=[("spec._priority", -1)])
            if fw is None:
                return False
            step += 1
            key = fw.get("spec", {}).get("calc_key")
            if key is not None and results.get_key(key) is None:  # an energy to compute here
                task = fw["spec"]["_tasks"][0]
                say(_start_line(task["molecule"], task["method"],
                                (task.get("labels") or {}).get("job", fw["name"]), settings))
            t0 = time.perf_counter()
            with contextlib.chdir(launch_dir):
                launch_rocket(lp, FWorker(), fw_id=fw["fw_id"], strm_lvl="ERROR")
            flush(lp)
            done = lp.get_fw_by_id(fw["fw_id"])
            data = _stored_data(done)
            # a duplicate of a firework that ran before (_dupefinder) shows that one's launch
            reused = bool(done.launches) and done.launches[-1].fw_id != fw["fw_id"]
            how = "stored" if reused or data.get("computed") is False else "computed"
            energy = f": E = {data['energy_hartree']:.8f} Eh ({how})" \
                if "energy_hartree" in data else ""
            if "poses" in data:
                energy = f": {data['poses']} poses kept, {data['calculations']} calculations added"
            say(f"[{step}/{len(nodes)}] {fw['name']}{energy} {done.state} in "
                f"{time.perf_counter() - t0:.1f} s")
            return True

        while launch({"spec.placement_key": {"$exists": True}}):  # placements add calculations
            pass
        todo, total = _pending_energies(lp, wf_id, results)
        say(f"{total} single points: {total - len(todo)} already stored, {len(todo)} to compute")
        if workers > 1 and todo:
            _precompute(todo, db_url, workers, say, settings)
        while launch({}):
            pass
        nodes = lp.workflows.find_one({"nodes": wf_id}, {"nodes": 1})["nodes"]
        failed = [f["name"] for f in lp.fireworks.find({"fw_id": {"$in": nodes},
                                                        "state": "FIZZLED"}, {"name": 1})]
        if failed:
            say(f"{len(failed)} firework(s) failed: {', '.join(failed)}; 'screening run' again "
                "retries them")
    finally:
        lock.close()
    from ..collect import collect, write_outputs

    written = campaign if whole is None else whole
    table = collect(written, results)
    write_outputs(table, output, written.name, written, results)
    return table


def _stored_data(fw) -> dict:
    """The stored_data of a Firework's last launch ({} if none)."""
    if fw.launches:
        return fw.launches[-1].action.stored_data if fw.launches[-1].action else {}
    return {}
