"""Faults injected into the results database, the store and the input: every probe ends in one
sentence naming the file (exit 2 for bad input, 3 for the environment), nothing is computed
twice, and no stored energy is lost. Real SQLite, a real PostgreSQL server (from the Debian
binaries, when present), real PySCF on H2/HF/STO-3G."""

from __future__ import annotations

import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from screening.database import ASE_TABLES, Claims
from screening.errors import EnvironmentFault, InputError
from screening.geometry import Molecule
from screening.methods import Method
from tests.conftest import ROOT, small_campaign

HF = Method(functional="hf", basis="sto-3g", dispersion=None, density_fit=False)


def h2(bond: float) -> Molecule:
    return Molecule.from_arrays(["H", "H"], [[0, 0, 0], [0, 0, bond]], 0, 1,
                                name=f"H2 {bond:.2f}")


def cli(*args: str, cwd: Path, env: dict | None = None, timeout: int = 300
        ) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "screening.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})


def one_sentence(r: subprocess.CompletedProcess, code: int, *words: str) -> None:
    """Exit ``code``, no traceback, one 'error:' line holding ``words``."""
    assert r.returncode == code, (r.returncode, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1, r.stderr
    for w in words:
        assert w in lines[0], (w, lines[0])


def tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as con:
        return {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}


# --- the database file: created atomically, checked when opened -----------------------------

def test_kill_during_database_creation_leaves_nothing_half_made(tmp_path):
    """8 `kill -9`s at random moments while a process makes a new database: the file is
    either absent or complete, and `results` then answers in a sentence either way."""
    rng = random.Random(3)
    code = "from screening.store import ResultStore; ResultStore({!r})"
    for k in range(8):
        db = tmp_path / f"k{k}" / "screening.db"
        p = subprocess.Popen([sys.executable, "-c", code.format(str(db))], cwd=tmp_path,
                             env={**os.environ, "PYTHONPATH": str(ROOT)})
        deadline = time.time() + 30
        while not db.parent.exists() and time.time() < deadline:  # imports done, creating
            time.sleep(0.001)
        time.sleep(rng.uniform(0.0, 0.02))
        p.kill()
        p.wait()
        if db.exists():
            assert set(ASE_TABLES) <= tables(db), k
        r = cli("results", "--db", str(db), cwd=tmp_path)
        assert r.returncode in (0, 3) and "Traceback" not in r.stderr, r.stderr
        if r.returncode == 3:
            assert "no such file" in r.stderr
        assert not list(db.parent.glob(".*.creating")) or p.returncode != 0


def test_half_created_database_is_rebuilt_or_refused(tmp_path):
    """A file with only ASE's first table (what a kill left with older versions): rebuilt when
    empty; refused with a sentence when it somehow holds rows."""
    from screening.store import ResultStore

    db = tmp_path / "half.db"
    with sqlite3.connect(db) as con:
        con.execute("CREATE TABLE systems (id INTEGER PRIMARY KEY, x TEXT)")
    store = ResultStore(db)
    assert store.count() == 0 and set(ASE_TABLES) <= tables(db)
    with sqlite3.connect(tmp_path / "rows.db") as con:
        con.execute("CREATE TABLE systems (id INTEGER PRIMARY KEY, x TEXT)")
        con.execute("INSERT INTO systems (x) VALUES ('energy')")
    with pytest.raises(EnvironmentFault, match="incomplete.*screening doctor"):
        ResultStore(tmp_path / "rows.db")


@pytest.mark.parametrize("content", [b"\x00\x17garbage" * 100, "truncated"])
def test_results_on_a_damaged_database(tmp_path, content):
    db = tmp_path / "bad.db"
    if content == "truncated":
        from screening.store import ResultStore

        store = ResultStore(db)
        for bond in (0.7, 0.74, 0.8):
            store.energy_of(h2(bond), HF)
        data = db.read_bytes()
        db.write_bytes(data[:len(data) // 2])
    else:
        db.write_bytes(content)
    r = cli("results", "--db", str(db), cwd=tmp_path)
    one_sentence(r, 3, str(db), "screening doctor")
    r = cli("doctor", "--db", str(db), "--store", str(tmp_path / "s.json"), "--repair",
            cwd=tmp_path)
    assert r.returncode == 0 and "moved aside" in r.stdout, r.stdout + r.stderr
    assert not db.exists() and len(list(tmp_path.glob("bad.db.damaged-*"))) == 1


def test_results_never_creates_a_database(tmp_path):
    r = cli("results", "--db", "nothere/x.db", cwd=tmp_path)
    one_sentence(r, 3, "nothere/x.db", "no such file")
    assert not (tmp_path / "nothere").exists()
    r = cli("status", "--db", "nothere/x.db", "--store", "s.json", cwd=tmp_path)
    assert r.returncode == 0 and not (tmp_path / "nothere").exists()
    assert "no embedded store at s.json" in r.stdout and not (tmp_path / "s.json").exists()


@pytest.mark.parametrize("content, words", [(None, "LaunchPad file not found"),
                                            ("host: [\n", "lp.yaml:2: malformed LaunchPad"),
                                            ("port: 27017\n", "with at least host:"),
                                            ("- a list\n", "with at least host:")])
def test_submit_refuses_a_bad_launchpad_file_writing_nothing(workdir, content, words):
    """A LaunchPad file that is missing, malformed or has no host: one sentence naming the
    file, exit 2, and no results database made."""
    small_campaign(workdir)
    if content is not None:
        (workdir / "lp.yaml").write_text(content)
    r = cli("submit", "tiny.yaml", "-l", "lp.yaml", "--db", "made.db", cwd=workdir)
    one_sentence(r, 2, "lp.yaml", words)
    assert not (workdir / "made.db").exists()


def test_disk_full_while_the_database_is_created(tmp_path):
    """A file-size limit of 16 KiB (the disk filling up) while the database is made: a
    sentence, exit 3, no database left; with room, the next run makes a complete one."""
    code = ("import resource; resource.setrlimit(resource.RLIMIT_FSIZE, (16384, 16384)); "
            "from screening.store import ResultStore\n"
            "from screening.errors import EnvironmentFault\n"
            "try:\n    ResultStore('x.db')\nexcept EnvironmentFault as e:\n"
            "    print(e); raise SystemExit(3)")
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                       text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert r.returncode == 3, r.stdout + r.stderr
    assert "x.db" in r.stdout and "cannot be created" in r.stdout
    assert not (tmp_path / "x.db").exists() and not list(tmp_path.glob(".x.db.*"))
    from screening.store import ResultStore

    assert ResultStore(tmp_path / "x.db").count() == 0


def test_no_room_for_the_run_is_refused_before_computing(tmp_path):
    from screening.database import check_room

    with pytest.raises(EnvironmentFault, match="free on its disk.*nothing was computed"):
        check_room(tmp_path / "x.db", 10 ** 9)  # 64 TB of records
    check_room(tmp_path / "x.db", 10)


def test_read_only_database_refused_before_computing(workdir):
    """A read-only database: exit 3 before any calculation; the stored energy is still there.
    (As root the permission bits do not bind, so there the check itself is made to see them.)"""
    from screening.store import ResultStore

    campaign = small_campaign(workdir, basis="sto-3g")
    db = workdir / "results" / "screening.db"
    ResultStore(db).energy_of(h2(0.74), HF)
    os.chmod(db, 0o444)
    try:
        if os.access(db, os.W_OK):  # root: the permission bits do not bind; use the check
            from screening import database

            real = database.os.access
            database.os.access = lambda p, m: False if str(p) == str(db) else real(p, m)
            try:
                with pytest.raises(EnvironmentFault, match="read-only.*nothing was computed"):
                    ResultStore(db)
            finally:
                database.os.access = real
        else:
            r = cli("run", str(campaign), cwd=workdir)
            one_sentence(r, 3, "read-only", "nothing was computed")
    finally:
        os.chmod(db, 0o644)
    assert ResultStore(db).count() == 1


def test_read_only_output_folder_refused_before_computing(workdir, monkeypatch):
    """A read-only results folder: refused with the folder named, nothing computed, no
    database row written. (The permission bits do not bind root, so the check is made to see
    them as a non-root user would.)"""
    from screening import api
    from screening.pipeline import local
    from screening.store import ResultStore

    campaign = small_campaign(workdir, basis="sto-3g")
    out = workdir / "ro"
    out.mkdir()
    os.chmod(out, 0o555)
    real = local.os.access
    if os.geteuid() == 0:
        monkeypatch.setattr(local.os, "access",
                            lambda p, m: False if str(p) == str(out) else real(p, m))
    try:
        with pytest.raises(EnvironmentFault, match="output folder .*ro: read-only.*nothing was "
                                                   "computed"):
            api.run_campaign(campaign, db=workdir / "x.db", store=workdir / "s.json",
                             output=out, progress=False)
    finally:
        os.chmod(out, 0o755)
    assert ResultStore(workdir / "x.db").count() == 0


# --- one row per calculation, claims ----------------------------------------------------------

def test_database_refuses_a_second_row_for_one_key(tmp_path):
    from screening.store import ResultStore

    store = ResultStore(tmp_path / "u.db")
    rec, computed = store.energy_of(h2(0.74), HF)
    row = rec.row
    with pytest.raises(sqlite3.IntegrityError):  # the database itself refuses it
        store._db.write(row.toatoms(), key_value_pairs=row.key_value_pairs, data=row.data)
    again = store.put(h2(0.74), HF, {**rec.data["result"], "energy": 99.0})
    assert again.energy == rec.energy and store.count() == 1


def test_database_file_is_sqlite_whatever_its_suffix(tmp_path):
    """``--db results.json`` is an SQLite file like any other: written, then read back (ASE
    would otherwise read a ``.json`` name as its JSON format and fail on the SQLite bytes)."""
    from screening.store import ResultStore

    path = tmp_path / "results.json"
    rec, computed = ResultStore(path).energy_of(h2(0.74), HF)
    assert computed and path.read_bytes().startswith(b"SQLite format 3")
    again, computed = ResultStore(path).energy_of(h2(0.74), HF)
    assert not computed and again.energy == rec.energy


def test_claims_wait_take_over_and_expire(tmp_path):
    from screening.store import ResultStore

    db = str(ResultStore(tmp_path / "c.db").url)
    mine, other = Claims(db, lease_s=5.0), Claims(db, lease_s=5.0)
    other.pid = 2 ** 22 + 7  # a worker of this host whose process is gone
    assert other.acquire("k1")
    assert mine.acquire("k1")  # taken over from the dead process
    other.host, other.pid = "elsewhere", 1
    assert other.acquire("k2")
    assert not mine.acquire("k2")  # alive on another host: wait
    with sqlite3.connect(db) as con:
        con.execute("UPDATE screening_claims SET heartbeat = heartbeat - 60 WHERE calc_key='k2'")
    assert mine.acquire("k2")  # its lease ran out
    assert not other.acquire("k2")
    assert mine.dead() == [] and sorted(k for k, *_ in mine.all()) == ["k1", "k2"]
    mine.release("k1")
    assert [k for k, *_ in mine.all()] == ["k2"]


def _worker(db: str, bonds: list[float], log: str) -> None:
    """Compute every H2 of ``bonds`` in the database ``db``; append each real compute to log."""
    from screening.engines.pyscf import compute
    from screening.store import ResultStore

    store = ResultStore(db)

    def counted(mol, method):
        with open(log, "a") as fh:
            fh.write(f"{mol.name}\n")
        return compute(mol, method).to_dict()

    for b in bonds:
        store.get_or_compute(h2(b), HF, counted, poll_s=0.05)


def concurrent_writers(db: str, log: Path, n: int = 4) -> None:
    import multiprocessing as mp

    bonds = [0.6 + 0.02 * k for k in range(12)]
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_worker, args=(db, bonds[k:] + bonds[:k], str(log)))
             for k in range(n)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(300)
        assert p.exitcode == 0


def test_four_writers_on_one_sqlite_database(tmp_path):
    """4 processes, one database, the same 12 calculations in shifted orders: 12 rows, each
    computed exactly once (claims), and no duplicate row (the unique index)."""
    from screening.store import ResultStore

    db = str(tmp_path / "shared.db")
    ResultStore(db)
    concurrent_writers(db, tmp_path / "log")
    computed = (tmp_path / "log").read_text().split("\n")[:-1]
    assert len(computed) == 12 and len(set(computed)) == 12
    assert ResultStore(db).count() == 12
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT COUNT(*) FROM screening_claims").fetchone()[0] == 0


@pytest.fixture(scope="module")
def postgres_url():
    """A throwaway PostgreSQL cluster from the Debian binaries (skipped where they are not)."""
    bins = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not bins:
        pytest.skip("PostgreSQL server binaries not installed (make install-postgres)")
    pytest.importorskip("psycopg2")
    pytest.importorskip("ase_db_backends")
    bindir = bins[-1].parent
    root = Path(tempfile.mkdtemp(prefix="screening-pg-"))
    run_as: list[str] = []
    if os.geteuid() == 0:  # initdb refuses root: run the server as the postgres user
        shutil.chown(root, "postgres")
        run_as = ["runuser", "-u", "postgres", "--"]
    port = str(20000 + os.getpid() % 20000)

    def pg(*args: str) -> None:
        subprocess.run(run_as + [str(bindir / args[0]), *args[1:]], check=True,
                       capture_output=True, timeout=120)

    pg("initdb", "-D", str(root / "data"), "--auth=trust", "-U", "postgres")
    pg("pg_ctl", "-D", str(root / "data"), "-l", str(root / "log"), "-w", "-o",
       f"-p {port} -k {root} -c listen_addresses=localhost", "start")
    try:
        pg("createdb", "-h", "localhost", "-p", port, "-U", "postgres", "screening")
        yield f"postgresql://postgres@localhost:{port}/screening"
    finally:
        pg("pg_ctl", "-D", str(root / "data"), "-m", "immediate", "stop")
        shutil.rmtree(root, ignore_errors=True)


def test_four_writers_on_one_postgresql_database(postgres_url, tmp_path):
    """The same on a real PostgreSQL server (cluster workers sharing a results database)."""
    import psycopg2

    from screening.store import ResultStore

    store = ResultStore(postgres_url)
    assert store.count() == 0
    concurrent_writers(postgres_url, tmp_path / "log")
    computed = (tmp_path / "log").read_text().split("\n")[:-1]
    assert len(computed) == 12 and len(set(computed)) == 12
    assert ResultStore(postgres_url).count() == 12
    with psycopg2.connect(postgres_url) as con, con.cursor() as cur:
        cur.execute("SELECT value, COUNT(*) FROM text_key_values WHERE key = 'calc_key' "
                    "GROUP BY value HAVING COUNT(*) > 1")
        assert cur.fetchall() == []
        cur.execute("SELECT COUNT(*) FROM screening_claims")
        assert cur.fetchone()[0] == 0
    r = cli("results", "--db", postgres_url, "--format", "csv", cwd=tmp_path)
    assert r.returncode == 0 and r.stdout.count("H2 ") == 12


def _open(url: str) -> None:
    from screening.store import ResultStore

    ResultStore(url)


def test_workers_starting_at_once_on_a_new_postgresql_database(postgres_url):
    """6 workers open a new, empty PostgreSQL results database at the same moment: all get it
    (PostgreSQL refuses concurrent CREATE TABLEs; the losers retry)."""
    import multiprocessing as mp

    import psycopg2

    con = psycopg2.connect(postgres_url.rsplit("/", 1)[0] + "/postgres")
    con.autocommit = True
    con.cursor().execute("CREATE DATABASE race")
    con.close()
    url = postgres_url.rsplit("/", 1)[0] + "/race"
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_open, args=(url,)) for _ in range(6)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0] * 6
    r = cli("results", "--db", url.replace(url.rsplit(":", 1)[1].split("/")[0], "1"),
            cwd=Path.cwd())
    one_sentence(r, 3, "cannot be opened", "Connection refused")


# --- the store, the campaign, spins -------------------------------------------------------------

@pytest.mark.parametrize("content", ["{\"fireworks\": {\"a\"", "\x00\x01\x02", "[1, 2]"])
def test_corrupt_store_is_a_sentence_and_the_doctor_moves_it_aside(workdir, content):
    campaign = small_campaign(workdir, basis="sto-3g")
    store = workdir / "results" / "fireworks_store.json"
    store.parent.mkdir()
    store.write_text(content)
    r = cli("run", str(campaign), cwd=workdir)
    one_sentence(r, 3, str(store), "screening doctor")
    r = cli("doctor", "--repair", cwd=workdir)
    assert r.returncode == 0 and "moved aside" in r.stdout, r.stdout + r.stderr
    assert not store.exists()


def test_doctor_removes_duplicates_of_older_versions_without_losing_an_energy(tmp_path):
    import ase.db

    from screening.store import ResultStore

    db = tmp_path / "old.db"
    store = ResultStore(db)
    rec, _ = store.energy_of(h2(0.74), HF)
    store.energy_of(h2(0.80), HF)
    with sqlite3.connect(db) as con:  # as an older version left it: no unique index
        con.execute("DROP INDEX screening_unique_calc_key")
    row = rec.row
    ase.db.connect(str(db)).write(row.toatoms(), key_value_pairs=row.key_value_pairs,
                                  data=row.data)
    r = cli("doctor", "--db", str(db), "--store", "s.json", cwd=tmp_path)
    assert r.returncode == 1 and "1 calculation(s) stored in more than one row" in r.stdout
    with pytest.raises(EnvironmentFault, match="one calculation in two rows"):
        ResultStore(db)
    r = cli("doctor", "--db", str(db), "--store", "s.json", "--repair", cwd=tmp_path)
    assert r.returncode == 0 and "1 duplicate row(s) deleted" in r.stdout, r.stdout
    after = ResultStore(db)
    assert after.count() == 2 and after.get(h2(0.74), HF).energy == rec.energy


def test_campaign_size_is_bounded(workdir):
    text = small_campaign(workdir, basis="sto-3g").read_text()
    (workdir / "huge.yaml").write_text(text.replace(
        "quantities:\n", "quantities:\n  - {name: PC in CC3, kind: binding, host: CC3, guest: "
        "PC, poses: 1000000000}\n"))
    r = cli("validate", "huge.yaml", cwd=workdir)
    one_sentence(r, 2, "huge.yaml:", "poses", "more than the 500")
    (workdir / "many.yaml").write_text(text.replace(
        "quantities:\n", "quantities:\n  - {name: PC in CC3, kind: binding, host: CC3, guest: "
        "PC, poses: 400, sites: [endo, exo]}\n"))
    r = cli("validate", "many.yaml", "--max-calculations", "100", cwd=workdir)
    one_sentence(r, 2, "many.yaml", "more than the limit of 100", "--max-calculations")


def test_binary_structure_file_is_refused(workdir):
    text = small_campaign(workdir, basis="sto-3g").read_text()
    (workdir / "h2o.xyz").write_bytes(bytes(range(256)))
    (workdir / "bin.yaml").write_text(text)
    r = cli("validate", "bin.yaml", cwd=workdir)
    one_sentence(r, 2, "h2o.xyz")


@pytest.mark.parametrize("complex_mult, frag_mults, ok", [
    (3, (1, 1), False),   # a triplet from two singlets
    (1, (3, 1), False),   # a singlet holding a triplet fragment
    (3, (3, 1), True),
    (1, (2, 2), True),    # two doublets: singlet or triplet
    (3, (2, 2), True),
    (5, (2, 2), False),
])
def test_complex_spin_must_be_reachable_from_its_fragments(complex_mult, frag_mults, ok):
    from screening.geometry import check_spin_coupling

    if ok:
        check_spin_coupling(complex_mult, list(frag_mults), "c")
    else:
        with pytest.raises(InputError, match=f"multiplicity {complex_mult} .* cannot be made"):
            check_spin_coupling(complex_mult, list(frag_mults), "c")


def test_triplet_complex_of_singlets_refused_in_a_campaign(workdir):
    text = small_campaign(workdir, basis="sto-3g").read_text()
    (workdir / "spin.yaml").write_text(text.replace("    charge: 1\n    fragments:",
                                                    "    charge: 1\n    multiplicity: 3\n"
                                                    "    fragments:"))
    r = cli("validate", "spin.yaml", cwd=workdir)
    one_sentence(r, 2, "spin.yaml:", "fragments", "S = 0, 0", "multiplicity 1 … 1")


def test_two_campaign_runs_sharing_one_database(workdir):
    """Two `screening run`s at once, separate stores, one database, the same 7 calculations:
    7 rows, and between them each calculation computed once."""
    campaign = small_campaign(workdir, basis="sto-3g")
    db = workdir / "shared.db"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-m", "screening.cli", "run", str(campaign),
                               "--db", str(db), "--store", f"store{k}.json", "-o", f"out{k}"],
                              cwd=workdir, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for k in range(2)]
    outs = [p.communicate(timeout=600) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err
    computed = sum(out.count("(computed)") for out, _ in outs)
    assert computed == 7, [out for out, _ in outs]
    import ase.db

    assert ase.db.connect(str(db)).count() == 7


def _li_waters() -> tuple[list[str], list[list[float]]]:
    """Li+(H2O)3, 10 atoms: enough SCF cycles at def2-SVP to cut a run off in the middle."""
    pos: list[list[float]] = [[0.0, 0.0, 0.0]]
    symbols = ["Li"]
    for c, s in [(1, 0), (-0.5, 0.866), (-0.5, -0.866)]:
        o = [1.95 * c, 1.95 * s, 0.0]
        pos += [o, [o[0] + 0.6 * c, o[1] + 0.6 * s, 0.76], [o[0] + 0.6 * c, o[1] + 0.6 * s, -0.76]]
        symbols += ["O", "H", "H"]
    return symbols, pos


def test_a_single_point_cut_off_resumes_from_its_scf_checkpoint(tmp_path, monkeypatch):
    """A run killed mid-SCF leaves its orbitals at <cache>/scf/<key>.chk; the next run starts
    from them, reaches the energy of an uninterrupted run, says it resumed, and removes the file."""
    from pyscf import lib

    from screening.engines.checkpoint import ScfCheckpoint
    from screening.engines.pyscf import compute
    from screening.methods import get_method
    from screening.settings import current_settings

    monkeypatch.setenv("SCREENING_CACHE_DIR", str(tmp_path / "cache"))
    symbols, pos = _li_waters()
    mol = Molecule.from_arrays(symbols, pos, 1, 1)
    method = get_method({"preset": "screening", "conv_tol": 1e-10})
    chk = ScfCheckpoint.of(mol, method, current_settings()).path
    mark = tmp_path / "cycles"
    # the run under test is the real engine; the cut-off run only notes each cycle it dumps to
    # its checkpoint (and lingers 0.3 s), so the test can kill it after its fourth cycle
    script = f"""
import time
import pyscf.scf.hf as hf
from screening.engines.pyscf import compute
from screening.geometry import Molecule
from screening.methods import get_method
dump = hf.SCF.dump_chk
def noted(self, envs):
    dump(self, envs)
    with open({str(mark)!r}, "a") as f:
        f.write(f"{{envs['cycle']}}\\n")
    time.sleep(0.3)
hf.SCF.dump_chk = noted
compute(Molecule.from_arrays({symbols!r}, {pos!r}, 1, 1),
        get_method({{"preset": "screening", "conv_tol": 1e-10}}), threads=1)
"""
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    deadline = time.time() + 120
    while proc.poll() is None and time.time() < deadline:
        if mark.exists() and len(mark.read_text().split()) >= 4:
            break
        time.sleep(0.02)
    proc.kill()
    proc.wait()
    assert len(mark.read_text().split()) >= 4, "the run ended before its fourth cycle"
    assert lib.chkfile.load(str(chk), "scf")["mo_coeff"].shape[0] == 81  # orbitals kept

    resumed = compute(mol, method, threads=1)
    assert resumed.scf_restart is not None and resumed.scf_restart["sittings"] == 2
    assert resumed.scf_restart["earlier_wall_s"] > 0
    assert not any(chk.parent.iterdir())  # converged: the checkpoint and its lock are gone
    fresh = compute(mol, method, threads=1)
    assert fresh.scf_restart is None
    assert resumed.energy == pytest.approx(fresh.energy, abs=1e-8)
    assert resumed.scf_cycles < fresh.scf_cycles


def test_a_second_process_on_the_same_calculation_runs_without_the_checkpoint(tmp_path,
                                                                               monkeypatch):
    """While one process holds a calculation's checkpoint lock, another computes the same thing
    without touching the file; an unreadable checkpoint is dropped, not trusted."""
    from screening.engines.checkpoint import ScfCheckpoint
    from screening.engines.pyscf import compute
    from screening.settings import current_settings

    monkeypatch.setenv("SCREENING_CACHE_DIR", str(tmp_path / "cache"))
    mol = h2(0.74)
    holder = ScfCheckpoint.of(mol, HF, current_settings())
    assert holder.acquire()
    holder.path.write_bytes(b"not hdf5")
    r = compute(mol, HF)
    assert r.scf_restart is None and holder.path.read_bytes() == b"not hdf5"
    holder.release(keep=True)
    r = compute(mol, HF)  # unlocked: the broken file is dropped and the run starts afresh
    assert r.scf_restart is None and not holder.path.exists()
    from pyscf import gto, scf

    plain = scf.RHF(gto.M(atom="H 0 0 0; H 0 0 0.74", basis="sto-3g", verbose=0)).kernel()
    assert r.energy == pytest.approx(plain, abs=1e-9)


def test_a_run_says_which_calculation_resumes_from_a_checkpoint(tmp_path):
    """A calculation with an SCF checkpoint from an earlier sitting: the run's start line says it
    resumes, its end line how long the earlier sitting ran, and its record keeps both."""
    import ase.db

    from screening.engines.checkpoint import ScfCheckpoint
    from screening.engines.pyscf import build_mol, build_scf
    from screening.methods import get_method
    from screening.pipeline.local import _precompute
    from screening.settings import Settings

    settings = Settings(cache_dir=str(tmp_path / "cache"), threads=1, device="cpu")
    symbols, pos = _li_waters()
    mol = Molecule.from_arrays(symbols, pos, 1, 1, name="Li+(H2O)3")
    method = get_method({"preset": "screening", "conv_tol": 1e-10})
    env = {"SCREENING_CACHE_DIR": str(tmp_path / "cache")}
    earlier = ScfCheckpoint.of(mol, method, settings)  # a sitting stopped before its 1st cycle
    assert earlier.acquire()
    mf = build_scf(build_mol(mol, method), method)
    earlier.initial_density(mf.mol.nao)
    earlier.release(keep=True)
    status = cli("status", cwd=tmp_path, env=env)
    assert f"{earlier.path.stem}: cut off before its first SCF cycle; starts afresh" in status.stdout
    assert earlier.acquire()  # an earlier sitting: three cycles
    earlier.initial_density(mf.mol.nao)
    mf.chkfile, mf.max_cycle = str(earlier.path), 3
    mf.kernel()
    earlier.release(keep=True)
    status = cli("status", cwd=tmp_path, env=env)
    assert f"{earlier.path.stem}: cut off; resumes on the next run" in status.stdout

    lines: list[str] = []
    db = str(tmp_path / "r.db")
    _precompute([(mol.to_dict(), method.to_dict(), {"job": "Li+(H2O)3"})], db, 1,
                lines.append, settings)
    assert "resuming its SCF from a checkpoint" in lines[0]
    assert "s in earlier sittings)" in lines[-1], lines
    row = next(ase.db.connect(db).select())
    restart = row.data["result"]["scf_restart"]
    assert restart["sittings"] == 2 and restart["earlier_wall_s"] > 0
    assert row.wall_s == pytest.approx(row.data["result"]["wall_s"] + restart["earlier_wall_s"])
    assert not earlier.path.exists()

    # the same checkpoint left behind again, its calculation now stored: the doctor finds it
    # (and leaves it while a process holds it), and --repair removes it
    again = ScfCheckpoint.of(mol, method, settings)
    assert again.acquire()
    again.initial_density(mf.mol.nao)
    held = cli("doctor", "--db", db, "--repair", cwd=tmp_path, env=env)
    assert "SCF checkpoint" not in held.stdout and again.path.exists()
    again.release(keep=True)
    found = cli("doctor", "--db", db, cwd=tmp_path, env=env)
    assert f"{again.path}: SCF checkpoint of a calculation already stored" in found.stdout
    assert found.returncode == 1
    fixed = cli("doctor", "--db", db, "--repair", cwd=tmp_path, env=env)
    assert fixed.returncode == 0 and "-> removed" in fixed.stdout
    assert not any(again.path.parent.iterdir())
    # one no run has touched for 40 days, of a calculation never stored, goes too
    old = ScfCheckpoint(again.path.parent / "0-0.chk")
    assert old.acquire()
    old.initial_density(1)
    old.release(keep=True)
    os.utime(old.path, (time.time() - 40 * 86400,) * 2)
    aged = cli("doctor", "--db", db, "--repair", cwd=tmp_path, env=env)
    assert "0-0.chk: SCF checkpoint untouched for 40 days -> removed" in aged.stdout
    assert not old.path.exists()


ORPHAN_SCRIPT = """
import os, sys, time
from screening.processes import spawn_pool

def work(path):
    open(path, "w").write(str(os.getpid()))
    time.sleep(120)

if __name__ == "__main__":
    with spawn_pool(1) as pool:
        pool.submit(work, sys.argv[1])
        time.sleep(120)
"""


def _alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie, dead but not yet reaped, does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_pool_workers_end_when_their_parent_is_killed(tmp_path):
    """A pool worker (a single point, a pose relaxation) whose parent gets SIGTERM (a scheduler's
    wall-time limit, kill) ends too: an orphan would hold its checkpoint's lock and compute for
    nobody."""
    import signal

    script, pid_file = tmp_path / "pool.py", tmp_path / "worker.pid"
    script.write_text(ORPHAN_SCRIPT)
    parent = subprocess.Popen([sys.executable, str(script), str(pid_file)], cwd=ROOT)
    try:
        deadline = time.time() + 60
        while not (pid_file.exists() and pid_file.read_text()) and time.time() < deadline:
            time.sleep(0.2)
        worker = int(pid_file.read_text())
        assert _alive(worker)
        parent.send_signal(signal.SIGTERM)
        parent.wait(timeout=30)
        deadline = time.time() + 20
        while _alive(worker) and time.time() < deadline:
            time.sleep(0.2)
        assert not _alive(worker), "the pool worker outlived its parent"
    finally:
        parent.kill()
        if pid_file.exists() and pid_file.read_text() and _alive(int(pid_file.read_text())):
            os.kill(int(pid_file.read_text()), signal.SIGKILL)
