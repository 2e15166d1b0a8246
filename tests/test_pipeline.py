"""The pipeline end to end: real FireWorks, real PySCF, a real database file."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import ase.db
import pandas as pd
import pytest

from screening import api
from screening.campaign import load_campaign
from screening.collect import collect
from screening.pipeline.launchpad import embedded_launchpad, lock_store
from screening.store import ResultStore

from .conftest import ROOT, small_campaign

ENV = {**os.environ, "PYTHONPATH": str(ROOT), "SCREENING_THREADS": "1"}


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "screening.cli", *args], cwd=cwd, env=ENV,
                          capture_output=True, text=True, timeout=600)


def values(table: pd.DataFrame) -> dict:
    return dict(zip(table["quantity"], table["value_eV"]))


@pytest.mark.slow
def test_cli_api_and_fireworks_agree(tmp_path, monkeypatch):
    """Three separate computations of the same campaign give the same numbers."""
    folders = [tmp_path / n for n in ("cli", "api", "fw")]
    for f in folders:
        f.mkdir()
        small_campaign(f)
    # 1. the command line, in its own process
    proc = cli("run", "tiny.yaml", cwd=folders[0])
    assert proc.returncode == 0, proc.stderr
    assert "Li+ binding to water" in proc.stdout
    from_cli = values(pd.read_csv(folders[0] / "results/tiny/quantities.csv"))
    # 2. the Python API
    monkeypatch.chdir(folders[1])
    from_api = values(api.run_campaign("tiny.yaml", progress=False))
    # 3. a plain FireWorks run: workflow on a LaunchPad, rapidfire as a worker would
    from fireworks import FWorker
    from fireworks.core.rocket_launcher import rapidfire

    from screening.pipeline.workflow import build_workflow

    monkeypatch.chdir(folders[2])
    campaign = load_campaign("tiny.yaml")
    lp = embedded_launchpad(folders[2] / "store.json")
    lp.add_wf(build_workflow(campaign, str(folders[2] / "fw.db"), folders[2] / "out"))
    rapidfire(lp, FWorker(), strm_lvl="ERROR")
    from_fw = values(pd.read_csv(folders[2] / "out/quantities.csv"))
    assert from_cli.keys() == from_api.keys() == from_fw.keys() == {"Li+ binding to water"}
    for k in from_cli:
        assert from_api[k] == pytest.approx(from_cli[k], abs=1e-6)
        assert from_fw[k] == pytest.approx(from_cli[k], abs=1e-6)
    # Li+·H2O, CP-corrected, def2-SVP: ~ -1.7 eV (-39 kcal/mol); see test_engine for references
    assert -1.9 < from_cli["Li+ binding to water"] < -1.5
    # each run stored its own 7 calculations, computed once
    for db in (folders[0] / "results/screening.db", folders[1] / "results/screening.db",
               folders[2] / "fw.db"):
        assert ase.db.connect(str(db)).count() == 7
    # and each stored energy is PySCF's own, called directly on the stored structure (ghost
    # atoms included), to 1e-6 Eh
    from screening.store import ResultStore

    from .conftest import pyscf_reference

    store = ResultStore(folders[0] / "results/screening.db")
    for key in store.dataframe()["calc_key"]:
        mol = store.molecule(key)
        ref, _, _ = pyscf_reference(mol, "b3lyp", "def2-svp", "d3bj",
                                    grid_level=campaign.method.grid_level)
        assert store.get_key(key).energy == pytest.approx(ref, abs=1e-6), mol.name
    assert (folders[0] / "results/tiny/quantities.png").stat().st_size > 5000


@pytest.mark.slow
def test_repeated_run_computes_nothing(workdir):
    small_campaign(workdir)
    first = cli("run", "tiny.yaml", cwd=workdir)
    assert first.returncode == 0, first.stderr
    rows = {r.calc_key: (r.id, r.mtime) for r in ase.db.connect("results/screening.db").select()}
    second = cli("run", "tiny.yaml", cwd=workdir)
    assert second.returncode == 0, second.stderr
    assert "7 already stored, 0 to compute" in second.stdout
    assert "(computed)" not in second.stdout
    # one worker: each calculation it computes is announced as it starts, none it finds stored
    assert first.stdout.count("  started ") == first.stdout.count("(computed)") == 7
    assert "  started " not in second.stdout
    after = {r.calc_key: (r.id, r.mtime) for r in ase.db.connect("results/screening.db").select()}
    assert after == rows
    # a changed campaign (new name) reuses every stored energy too
    text = (workdir / "tiny.yaml").read_text().replace("name: tiny", "name: tiny2")
    (workdir / "tiny2.yaml").write_text(text)
    third = cli("run", "tiny2.yaml", cwd=workdir)
    assert "7 already stored, 0 to compute" in third.stdout
    assert third.stdout.count("(stored)") == 7
    # a changed campaign of the same name makes a new workflow whose fireworks duplicate the
    # first's (_dupefinder links them to the launches that computed): stored, not computed
    text = (workdir / "tiny.yaml").read_text()
    (workdir / "tiny.yaml").write_text(
        text + "  - {name: Li+ binding to water again, kind: binding, complex: Li+H2O}\n")
    fourth = cli("run", "tiny.yaml", cwd=workdir)
    assert fourth.returncode == 0, fourth.stderr
    assert "(computed)" not in fourth.stdout and fourth.stdout.count("(stored)") == 7, \
        fourth.stdout


@pytest.mark.slow
def test_killed_run_resumes_without_recomputing(workdir):
    """SIGKILL in the middle; the rerun keeps every stored result and computes only the rest."""
    small_campaign(workdir, with_dimer=True)
    proc = subprocess.Popen([sys.executable, "-m", "screening.cli", "run", "tiny.yaml"],
                            cwd=workdir, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    db_path = workdir / "results/screening.db"
    deadline = time.time() + 300
    before: dict = {}
    while time.time() < deadline:
        if db_path.exists():
            try:
                before = {r.calc_key: r.mtime for r in ase.db.connect(str(db_path)).select()}
            except Exception:
                before = {}
            if len(before) >= 3:
                break
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert 3 <= len(before) < 12, "the kill must land mid-run"
    json.loads((workdir / "results/fireworks_store.json").read_text())  # store file still valid
    again = cli("run", "tiny.yaml", cwd=workdir)
    assert again.returncode == 0, again.stderr
    stored = int(again.stdout.split(" already stored")[0].split()[-1])
    assert stored >= len(before)
    rows = list(ase.db.connect(str(db_path)).select())
    keys = [r.calc_key for r in rows]
    assert len(keys) == len(set(keys)) == 12  # nothing twice, nothing lost
    assert all({r.calc_key: r.mtime for r in rows}[k] == t for k, t in before.items())
    assert "water dimer" in again.stdout and "Li+ binding to water" in again.stdout


@pytest.mark.slow
def test_two_workers_store_every_result_once(workdir):
    small_campaign(workdir, with_dimer=True)
    proc = cli("run", "tiny.yaml", "--workers", "2", cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    keys = [r.calc_key for r in ase.db.connect("results/screening.db").select()]
    assert len(keys) == len(set(keys)) == 12
    assert proc.stdout.count("(stored)") == 12  # fireworks found what the pool computed
    starts = [line for line in proc.stdout.splitlines() if line.startswith("  started ")]
    ends = [line for line in proc.stdout.splitlines()
            if line.startswith("[") and " Eh (" in line and "(stored)" not in line]
    assert len(starts) == len(ends) == 12  # each computed energy said when it began and ended
    assert " atoms) at " in starts[0]
    table = pd.read_csv(workdir / "results/tiny/quantities.csv")
    assert table["value_eV"].notna().all()
    # water dimer, CP-corrected: -0.236 eV at def2-SVP (S22 CCSD(T): -0.218 eV)
    assert values(table)["water dimer"] == pytest.approx(-0.218, abs=0.045)


def test_oversubscribed_threads_are_named(tmp_path):
    """More threads than cores over the workers gets a note saying what to give instead."""
    from screening.pipeline.local import _precompute
    from screening.settings import current_settings

    cores = os.cpu_count() or 1
    said: list[str] = []
    _precompute([], str(tmp_path / "x.db"), 2, said.append,
                current_settings().replace(threads=cores))
    assert said == [f"note: 2 workers × {cores} threads = {2 * cores} threads on {cores} cores; "
                    f"oversubscribed threads wait on each other (give --threads "
                    f"{max(1, cores // 2)}, or fewer --workers)"]
    said.clear()
    _precompute([], str(tmp_path / "x.db"), 1, said.append, current_settings().replace(threads=1))
    assert said == []


def test_second_runner_on_same_store_is_refused(workdir):
    small_campaign(workdir)
    handle = lock_store(workdir / "results/fireworks_store.json")
    try:
        proc = cli("run", "tiny.yaml", cwd=workdir)
    finally:
        handle.close()
    assert proc.returncode == 2
    assert "another 'screening run' is using" in proc.stderr
    assert not (workdir / "results/screening.db").exists() or \
        ase.db.connect("results/screening.db").count() == 0


def test_collector_tolerates_missing_energies(workdir):
    campaign = load_campaign(small_campaign(workdir))
    table = collect(campaign, ResultStore(workdir / "empty.db"))
    assert table["value_eV"].isna().all()
    assert "Li+H2O" in table.loc[0, "missing"]


@pytest.mark.slow
def test_results_query_formats(workdir):
    small_campaign(workdir)
    assert cli("run", "tiny.yaml", "-q", cwd=workdir).returncode == 0
    as_json = json.loads(cli("results", "--format", "json", "--campaign", "tiny",
                             cwd=workdir).stdout)
    assert len(as_json) == 7 and all(r["method"] == "B3LYP-D3BJ/def2-SVP (grid 1)" for r in as_json)
    typo = cli("results", "--campaign", "tiyn", cwd=workdir)
    assert typo.returncode == 0 and typo.stdout.strip() == "no results"
    assert "the campaigns it holds: tiny" in typo.stderr, typo.stderr
    csv = cli("results", "--quantities", "tiny.yaml", "--format", "csv", cwd=workdir).stdout
    assert csv.splitlines()[0].startswith("quantity,kind,value_eV")
    status = cli("status", cwd=workdir).stdout
    assert "COMPLETED=8" in status and "stored results: 7" in status
    df = api.results(db=workdir / "results/screening.db", campaign="tiny")
    atoms = api.structure(df.loc[0, "calc_key"], db=workdir / "results/screening.db")
    assert len(atoms) == df.loc[0, "natoms"]


def test_gpu_fireworks_reach_only_gpu_workers(workdir):
    """--gpu puts _category 'gpu' on calculations; the shipped GPU worker pulls them."""
    from fireworks import FWorker

    from screening.pipeline.workflow import build_workflow

    campaign = load_campaign(small_campaign(workdir))
    lp = embedded_launchpad(workdir / "store.json")
    lp.add_wf(build_workflow(campaign, str(workdir / "r.db"), workdir / "out", gpu=True))
    other = FWorker(name="other", category="cpu-only")
    assert lp.checkout_fw(other, str(workdir)) == (None, None)
    gpu = FWorker.from_file(str(ROOT / "workflows/my_fworker_gpu.yaml"))
    fw, _launch = lp.checkout_fw(gpu, str(workdir))
    assert fw is not None and fw.spec["_category"] == "gpu"
    anyone = FWorker.from_file(str(ROOT / "workflows/my_fworker.yaml"))
    assert lp.checkout_fw(anyone, str(workdir))[0] is not None  # no category: takes everything


def test_a_quantitys_searches_run_in_turn_and_queue_each_state_once(workdir):
    """A salt's dissociation on a host has two searches (contact, separated): the second waits
    for the first and queues the two states' energies. Run again as a second campaign, where
    both searches are stored, the first search queues both states and the second none (each
    used to queue both)."""
    from screening.pipeline.workflow import build_workflow

    for name in ("a", "b"):
        (workdir / f"{name}.yaml").write_text(f"""name: {name}
method: gfn2-xtb
quantities:
  - {{name: LiTFSI on PVDF, kind: dissociation, host: {{name: PVDF-HFP, units: 2,
     hfp_units: 0}}, salt: [Li+, TFSI-], separation: 5.0, poses: 1}}
""")
    wf = build_workflow(load_campaign(workdir / "a.yaml"), str(workdir / "r.db"), workdir / "o")
    searches = [fw for fw in wf.fws if "placement_key" in fw.spec]
    assert [fw.name.rsplit(" ", 1)[-1] for fw in searches] == ["contact", "separated"]
    assert list(wf.links.parent_links.get(searches[1].fw_id, [])) == [searches[0].fw_id]
    added = {}
    for name in ("a", "b"):
        said: list[str] = []
        table = api.run_campaign(workdir / f"{name}.yaml", db=workdir / "r.db",
                                 store=workdir / "s.json", output=workdir / name,
                                 progress=said.append)
        assert table.loc[0, "missing"] == "" and table.loc[0, "value_eV"] > 0
        added[name] = [int(line.split(" calculations added")[0].rsplit(" ", 1)[-1])
                       for line in said if "calculations added" in line]
    assert added == {"a": [0, 2], "b": [2, 0]}


def test_slurm_templates_render():
    from fireworks.utilities.fw_serializers import load_object_from_file

    gpu = load_object_from_file(str(ROOT / "workflows/my_qadapter_gpu.yaml"))
    script = gpu.get_script_str(".")
    assert "#SBATCH --gres=gpu:1" in script and "rlaunch" in script and "singleshot" in script
    cpu = load_object_from_file(str(ROOT / "workflows/my_qadapter.yaml"))
    assert "#SBATCH --cpus-per-task=16" in cpu.get_script_str(".")


@pytest.mark.slow
def test_submit_then_fireworks_rlaunch(workdir):
    """The cluster path: `screening submit` to a LaunchPad file, FireWorks' own `rlaunch` runs it.

    The LaunchPad file names a MongoDB; mongomock stands in for the server (same client API).
    """
    small_campaign(workdir)
    (workdir / "my_launchpad.yaml").write_text("host: localhost\nname: screening_test\n")
    store = workdir / "mongo.json"
    store.write_text("{}")
    env = {**ENV, "MONGOMOCK_SERVERSTORE_FILE": str(store)}
    bin_dir = Path(sys.executable).parent

    def run(cmd: list[str]) -> subprocess.CompletedProcess:
        proc = subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True,
                              timeout=600)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return proc

    run([str(bin_dir / "lpad"), "-l", "my_launchpad.yaml", "reset", "--password",
         time.strftime("%Y-%m-%d")])
    out = run([sys.executable, "-m", "screening.cli", "submit", "tiny.yaml", "-l",
               "my_launchpad.yaml", "--db", "shared.db", "-o", "collected"]).stdout
    assert "8 fireworks" in out
    run([str(bin_dir / "rlaunch"), "-l", "my_launchpad.yaml", "rapidfire"])
    table = pd.read_csv(workdir / "collected/quantities.csv")
    assert -1.9 < table["value_eV"].iloc[0] < -1.5
    assert ase.db.connect(str(workdir / "shared.db")).count() == 7


def test_api_energy_then_run_campaign(workdir):
    """sc.energy computes without importing FireWorks, so a later sc.run_campaign can still
    choose its embedded store (FireWorks reads that choice when it is first imported); before,
    the second call raised 'fireworks was imported before the embedded store was chosen'."""
    small_campaign(workdir)
    script = ("import sys\n"
              "import screening.api as sc\n"
              "e = sc.energy(sc.species_atoms('H2O'), method={'preset': 'screening', "
              "'basis': 'sto-3g'}, db='results/screening.db')\n"
              "assert 'fireworks' not in sys.modules\n"
              "table = sc.run_campaign('tiny.yaml', progress=False)\n"
              "print(round(e, 4), len(table))\n")
    proc = subprocess.run([sys.executable, "-c", script], cwd=workdir, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    energy, rows = proc.stdout.split()
    assert -75.4 < float(energy) < -74.5 and int(rows) >= 1  # H2O, B3LYP/STO-3G ≈ −75.31 Eh
