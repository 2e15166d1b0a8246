"""The results database as a file or server: made safe before ASE's database layer uses it.

* **Created atomically.** A new SQLite file is built under a temporary name (ASE's tables, the
  unique index and the claims table) and linked into place in one step, so a kill or a full disk
  during creation leaves either no file or a complete one. A file left half-created by older
  versions (tables missing, no rows) is detected and rebuilt.
* **One row per calculation.** A unique index on the ``calc_key`` key-value pair makes the
  database itself refuse a second row for a stored (structure, method); the writer that loses
  keeps the row that won.
* **Claims.** Before computing, a worker inserts a claim (key, host, pid, heartbeat) in
  ``screening_claims``; another worker that wants the same calculation waits for its record or
  for the claim to expire (no heartbeat for ``lease_s`` seconds, or its process gone from this
  host), then takes it over. This holds for local workers, for several campaigns sharing one
  database and for cluster workers on a PostgreSQL database.
* **Faults are sentences.** A file that is not a database, a read-only database or folder, a
  full disk: :class:`~screening.errors.EnvironmentFault` naming the file and what to do.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from .errors import EnvironmentFault

ASE_TABLES = ("systems", "species", "keys", "text_key_values", "number_key_values",
              "information")
UNIQUE_INDEX = ("CREATE UNIQUE INDEX IF NOT EXISTS screening_unique_calc_key "
                "ON text_key_values (value) WHERE key = 'calc_key'")
CLAIMS_TABLE = ("CREATE TABLE IF NOT EXISTS screening_claims (calc_key TEXT PRIMARY KEY, "
                "host TEXT, pid INTEGER, started DOUBLE PRECISION, heartbeat DOUBLE PRECISION)")
LEASE_S = 120.0
"""A claim with no heartbeat for this long (s) is taken to be dead."""
HEARTBEAT_S = 10.0
"""How often (s) a computing worker renews its claim."""
RECORD_BYTES = 64 * 1024
"""Room (bytes) a run's check asks for per calculation it may store, plus ``SPARE_BYTES``."""
SPARE_BYTES = 16 * 1024 * 1024

FIX_DB = "run 'screening doctor --db {url}' to see what is wrong and '--repair' to fix it"


def is_url(url: str) -> bool:
    """Whether ``url`` names a database server (postgresql://…) rather than a file."""
    return "://" in url


def fault(url: str, problem: str, advice: str = "") -> EnvironmentFault:
    """One sentence: the database, the problem, what to do."""
    return EnvironmentFault(f"results database {url}: {problem}" + (f"; {advice}" if advice
                                                                     else ""))


def sqlite_tables(path: Path) -> set[str]:
    """Names of the tables in an SQLite file (EnvironmentFault if it is not one)."""
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30) as con:
            return {r[0] for r in con.execute("SELECT name FROM sqlite_master "
                                              "WHERE type = 'table'")}
    except sqlite3.DatabaseError as exc:
        raise fault(str(path), f"not an SQLite results database ({exc})",
                    FIX_DB.format(url=path)) from None


def create_sqlite(path: Path) -> None:
    """Create a complete, empty results database at ``path`` atomically (no-op if another
    process got there first)."""
    import ase.db

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.creating")
    try:
        db = ase.db.connect(str(tmp), type="db")
        db.count()  # makes ASE's tables
        with sqlite3.connect(tmp) as con:
            con.execute(UNIQUE_INDEX)
            con.execute(CLAIMS_TABLE)
        try:
            os.link(tmp, path)  # atomic, and never over a file that appeared meanwhile
        except FileExistsError:
            pass
        except OSError:  # a filesystem without hard links
            if not path.exists():
                os.replace(tmp, path)
    except sqlite3.OperationalError as exc:
        raise fault(str(path), f"cannot be created ({exc})",
                    "free disk space or choose another --db") from None
    except OSError as exc:
        raise fault(str(path), f"cannot be created ({exc.strerror or exc})",
                    "check the folder exists and is writable, or choose another --db") from None
    finally:
        tmp.unlink(missing_ok=True)


def rows_in(path: Path) -> int:
    """Rows of the ``systems`` table (0 when the table is missing)."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30) as con:
        try:
            return int(con.execute("SELECT COUNT(*) FROM systems").fetchone()[0])
        except sqlite3.OperationalError:
            return 0


def prepare_sqlite(path: Path, create: bool = True, writable: bool = True) -> None:
    """Make ``path`` a complete results database, or say why it cannot be.

    ``create``: make it if missing (``screening results`` never does); ``writable``: it will be
    written, so add the unique index and claims table to a file made by an older version and
    check that file and folder are writable.
    """
    if not path.exists():
        if not create:
            raise fault(str(path), "no such file", "run a campaign first or give --db")
        create_sqlite(path)
        return
    if path.is_dir():
        raise fault(str(path), "is a folder, not a database file")
    tables = sqlite_tables(path)
    missing = [t for t in ASE_TABLES if t not in tables]
    if missing:
        if rows_in(path) == 0 and writable:  # half-created: nothing to lose, build it again
            path.unlink()
            create_sqlite(path)
            return
        raise fault(str(path), f"incomplete (tables {', '.join(missing)} missing)",
                    FIX_DB.format(url=path))
    if not writable:
        return
    for target, what in ((path, "the database file"), (path.parent, "its folder")):
        if not os.access(target, os.W_OK):
            raise fault(str(path), f"{what} is read-only",
                        "make it writable or choose another --db; nothing was computed")
    try:
        with sqlite3.connect(path, timeout=30) as con:
            con.execute(UNIQUE_INDEX)
            con.execute(CLAIMS_TABLE)
    except sqlite3.IntegrityError:
        raise fault(str(path), "holds one calculation in two rows (written by an older "
                    "version)", FIX_DB.format(url=path)) from None
    except sqlite3.OperationalError as exc:
        raise fault(str(path), f"cannot be written ({exc})",
                    "make it writable or choose another --db") from None


def check_room(path: Path, calculations: int) -> None:
    """EnvironmentFault unless the disk under ``path`` has room for ``calculations`` records."""
    import shutil

    need = calculations * RECORD_BYTES + SPARE_BYTES
    free = shutil.disk_usage(path.parent if path.parent.exists() else Path.cwd()).free
    if free < need:
        raise fault(str(path), f"only {free / 2**20:.1f} MiB free on its disk, and "
                    f"{calculations} calculations need about {need / 2**20:.1f} MiB",
                    "free disk space or choose another --db; nothing was computed")


def check_writable(folder: Path, what: str, option: str,
                   consequence: str = "nothing was computed") -> None:
    """EnvironmentFault unless ``folder`` exists (or can be made) and is writable; the message
    names ``what`` it is and the ``option`` that chooses another."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EnvironmentFault(f"{what} {folder}: cannot be made ({exc.strerror or exc}); "
                               f"choose another with {option}") from None
    if not os.access(folder, os.W_OK):
        raise EnvironmentFault(f"{what} {folder}: read-only; make it writable or choose another "
                               f"with {option}; {consequence}")


@contextmanager
def connection(url: str) -> Iterator[Any]:
    """A DB-API connection to the results database (SQLite file or PostgreSQL URL)."""
    if is_url(url):
        try:
            import psycopg2
        except ModuleNotFoundError:
            raise fault(url, "PostgreSQL needs the postgres extra",
                        "pip install 'screening[postgres]'") from None
        con = psycopg2.connect(url)
    else:
        con = sqlite3.connect(url, timeout=60)
    try:
        yield con
        con.commit()
    except BaseException:
        con.rollback()
        raise
    finally:
        con.close()


def connect_server(url: str):
    """ASE's database on a server, its tables made. Workers that start at once would race to
    make them (PostgreSQL refuses a second CREATE TABLE, as "duplicate key" or "relation
    already exists"), so the tables are made under the write lock (:func:`write_lock`)."""
    import ase.db

    try:
        with write_lock(url):
            db = ase.db.connect(url)
            db.count()  # makes ASE's tables when missing
        return db
    except (ModuleNotFoundError, EnvironmentFault):
        raise
    except Exception as exc:  # psycopg2: no server, bad URL, no such database
        raise fault(url, f"cannot be opened ({' '.join(str(exc).split())[:200]})",
                    "check the server is up and the URL is right") from None


WRITE_LOCK = 7_243_851
"""PostgreSQL advisory-lock number that serialises writes to a server results database."""


@contextmanager
def write_lock(url: str) -> Iterator[None]:
    """Hold the results database's write lock for the block. On PostgreSQL, ASE's backend
    links a row's species to its id through queries that race between concurrent writers
    (seen: a foreign-key violation with 4 writers), so writes are serialised with an advisory
    lock; SQLite serialises writes itself."""
    if not is_url(url):
        yield
        return
    try:
        import psycopg2
    except ModuleNotFoundError:
        raise fault(url, "PostgreSQL needs the postgres extra",
                    "pip install 'screening[postgres]'") from None
    try:
        lock = psycopg2.connect(url)
    except psycopg2.Error as exc:
        raise fault(url, f"cannot be opened ({' '.join(str(exc).split())[:200]})",
                    "check the server is up and the URL is right") from None
    lock.autocommit = True
    with contextlib.closing(lock) as con:
        cur = con.cursor()
        cur.execute("SELECT pg_advisory_lock(%s)", (WRITE_LOCK,))
        try:
            yield
        finally:
            cur.execute("SELECT pg_advisory_unlock(%s)", (WRITE_LOCK,))


def prepare_server(url: str) -> None:
    """The unique index and the claims table on a PostgreSQL results database (after ASE has
    made its tables), made under the write lock when missing."""
    with write_lock(url), connection(url) as con:
        cur = con.cursor()
        cur.execute(UNIQUE_INDEX)
        cur.execute(CLAIMS_TABLE)


class Claims:
    """Claims on calculations in the results database at ``url`` (see the module doc)."""

    def __init__(self, url: str, lease_s: float = LEASE_S, heartbeat_s: float = HEARTBEAT_S):
        self.url, self.lease_s, self.heartbeat_s = url, lease_s, heartbeat_s
        self.ph = "%s" if is_url(url) else "?"
        self.host, self.pid = socket.gethostname(), os.getpid()

    def _run(self, sql: str, args: tuple = ()) -> tuple[int, list]:
        with connection(self.url) as con:
            cur = con.cursor()
            cur.execute(sql.replace("?", self.ph), args)
            rows = cur.fetchall() if cur.description else []
            return cur.rowcount, rows

    def acquire(self, key: str) -> bool:
        """Claim ``key``; False if a live claim of another worker holds it. A dead claim (no
        heartbeat for ``lease_s``, or its process gone from this host) is taken over."""
        now = time.time()
        try:
            self._run("INSERT INTO screening_claims VALUES (?, ?, ?, ?, ?)",
                      (key, self.host, self.pid, now, now))
            return True
        except Exception as exc:  # sqlite3/psycopg2 IntegrityError: a claim exists
            if "unique" not in str(exc).lower() and "duplicate" not in str(exc).lower():
                raise
        _, rows = self._run("SELECT host, pid, heartbeat FROM screening_claims "
                            "WHERE calc_key = ?", (key,))
        if not rows:
            return self.acquire(key)  # released meanwhile
        host, pid, beat = rows[0]
        if (host, pid) == (self.host, self.pid):
            return True
        if not self._dead(host, pid, beat, now):
            return False
        n, _ = self._run("UPDATE screening_claims SET host = ?, pid = ?, started = ?, "
                         "heartbeat = ? WHERE calc_key = ? AND host = ? AND pid = ? AND "
                         "heartbeat = ?", (self.host, self.pid, now, now, key, host, pid, beat))
        return n == 1  # else another worker took it over first

    def _dead(self, host: str, pid: int, beat: float, now: float) -> bool:
        if now - beat > self.lease_s:
            return True
        if host == self.host:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return True
            except PermissionError:
                return False
        return False

    def release(self, key: str) -> None:
        """Drop this worker's claim on ``key``."""
        self._run("DELETE FROM screening_claims WHERE calc_key = ? AND host = ? AND pid = ?",
                  (key, self.host, self.pid))

    def beat(self, key: str) -> None:
        """Renew this worker's claim on ``key``."""
        self._run("UPDATE screening_claims SET heartbeat = ? WHERE calc_key = ? AND host = ? "
                  "AND pid = ?", (time.time(), key, self.host, self.pid))

    @contextmanager
    def held(self, key: str) -> Iterator[None]:
        """Renew the claim on ``key`` every ``heartbeat_s`` while the block runs, then drop it."""
        stop = threading.Event()

        def renew() -> None:
            while not stop.wait(self.heartbeat_s):
                try:
                    self.beat(key)
                except Exception:  # a missed beat only shortens the lease
                    pass

        thread = threading.Thread(target=renew, daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()
            self.release(key)

    def all(self) -> list[tuple[str, str, int, float, float]]:
        """Every claim: (calc_key, host, pid, started, heartbeat)."""
        return [tuple(r) for r in self._run("SELECT calc_key, host, pid, started, heartbeat "
                                            "FROM screening_claims")[1]]

    def dead(self) -> list[str]:
        """Keys whose claims belong to dead workers."""
        now = time.time()
        return [k for k, host, pid, _, beat in self.all() if self._dead(host, pid, beat, now)]

    def clear(self, keys: list[str]) -> None:
        """Remove the claims on ``keys`` (the doctor's repair of dead claims)."""
        for k in keys:
            self._run("DELETE FROM screening_claims WHERE calc_key = ?", (k,))
