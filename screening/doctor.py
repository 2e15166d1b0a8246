"""``screening doctor``: check (and with ``repair``, fix) a results database and a store.

What it looks for, and what a repair does; no stored energy is ever deleted, a damaged file is
moved aside (``<name>.damaged-<time>``), never removed:

* a results database that is not one (random bytes, truncated): moved aside; the next run
  makes a new one;
* a half-created database (ASE's tables missing): rebuilt when it holds no rows, else moved
  aside;
* one calculation stored in two rows (older versions, no unique index): the later rows are
  deleted when their energies agree to 1e-10 Eh (else reported and left), then the unique
  index is made;
* claims of workers that died: cleared;
* an embedded FireWorks store that cannot be read: moved aside (its workflow is rebuilt from
  the campaign on the next run, and every energy is in the database);
* leftovers of interrupted writes (``*.creating``, ``*.tmp``): removed;
* SCF checkpoints (``<cache>/scf``) of calculations the database already holds (computed
  elsewhere, or imported, after the run that left them was cut off), or untouched for
  ``STALE_CHECKPOINT_DAYS``: removed, unless a process is computing it now.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from .database import (ASE_TABLES, UNIQUE_INDEX, Claims, create_sqlite, rows_in,
                       sqlite_tables)
from .errors import EnvironmentFault


@dataclass
class Finding:
    """One problem: where, what, and what the repair did (empty until repaired)."""

    where: str
    problem: str
    repaired: str = ""

    def line(self) -> str:
        return f"{self.where}: {self.problem}" + (f" -> {self.repaired}" if self.repaired
                                                  else "")


def move_aside(path: Path) -> Path:
    """Rename ``path`` to ``<path>.damaged-<time>`` and return the new path."""
    target = path.with_name(f"{path.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
    path.rename(target)
    return target


def check_database(path: Path, repair: bool) -> list[Finding]:
    """Findings for the SQLite results database at ``path`` (see the module doc)."""
    out = leftovers(path.parent.glob(f".{path.name}.*.creating"), "database creation", repair)
    if not path.exists():
        return out
    try:
        tables = sqlite_tables(path)
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as con:
            integrity = con.execute("PRAGMA integrity_check").fetchone()[0]
    except (EnvironmentFault, sqlite3.DatabaseError) as exc:
        f = Finding(str(path), f"not a readable results database ({exc})")
        if repair:
            f.repaired = f"moved aside to {move_aside(path).name}; the next run makes a new one"
        return out + [f]
    if integrity != "ok":
        f = Finding(str(path), f"SQLite integrity check: {integrity}")
        if repair:
            f.repaired = f"moved aside to {move_aside(path).name}; read it with sqlite3's " \
                         ".recover, the next run makes a new one"
        return out + [f]
    missing = [t for t in ASE_TABLES if t not in tables]
    if missing:
        rows = rows_in(path)
        f = Finding(str(path), f"half-created: tables {', '.join(missing)} missing, {rows} rows")
        if repair:
            if rows == 0:
                path.unlink()
                create_sqlite(path)
                f.repaired = "rebuilt (it held nothing)"
            else:
                f.repaired = f"moved aside to {move_aside(path).name}"
        return out + [f]
    out += _duplicates(path, repair)
    if "screening_claims" in tables:
        claims = Claims(str(path))
        dead = claims.dead()
        if dead:
            f = Finding(str(path), f"{len(dead)} claim(s) of workers that died: "
                        + ", ".join(dead[:5]) + (" …" if len(dead) > 5 else ""))
            if repair:
                claims.clear(dead)
                f.repaired = "cleared"
            out.append(f)
    return out


def _duplicates(path: Path, repair: bool) -> list[Finding]:
    """Calculations stored in more than one row."""
    import ase.db

    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as con:
        keys = [r[0] for r in con.execute(
            "SELECT value FROM text_key_values WHERE key = 'calc_key' GROUP BY value "
            "HAVING COUNT(*) > 1")]
    if not keys:
        return []
    f = Finding(str(path), f"{len(keys)} calculation(s) stored in more than one row")
    if repair:
        db = ase.db.connect(str(path), type="db")
        removed, kept = 0, []
        for key in keys:
            rows = sorted(db.select(calc_key=key), key=lambda r: r.id)
            energies = {round(float(r.energy_hartree), 10) for r in rows}
            if len(energies) > 1:
                kept.append(key)
                continue
            db.delete([r.id for r in rows[1:]])
            removed += len(rows) - 1
        f.repaired = f"{removed} duplicate row(s) deleted (same energy kept once)"
        if kept:
            f.repaired += f"; {len(kept)} key(s) with differing energies left for you to " \
                          f"inspect: {', '.join(kept)}"
        else:
            with sqlite3.connect(path) as con:
                con.execute(UNIQUE_INDEX)
            f.repaired += "; unique index made"
    return [f]


def check_store(path: Path, repair: bool) -> list[Finding]:
    """Findings for an embedded FireWorks store file."""
    from .pipeline.launchpad import check_store_file

    tmp = path.with_suffix(path.suffix + ".tmp")
    out = leftovers([tmp] if tmp.exists() else [], "store write", repair)
    if not path.exists():
        return out
    try:
        check_store_file(path)
    except EnvironmentFault as exc:
        f = Finding(str(path), str(exc).split("; run")[0].split(": ", 1)[-1])
        if repair:
            f.repaired = f"moved aside to {move_aside(path).name}; the next run rebuilds the " \
                         "workflow and finds every stored energy"
        out.append(f)
    return out


def check_host_cache(folder: Path, repair: bool) -> list[Finding]:
    """Half-written host files in the user cache."""
    return leftovers(sorted(folder.glob("*.tmp")) if folder.is_dir() else [], "host write",
                     repair)


def leftovers(files, what: str, repair: bool) -> list[Finding]:
    """A finding per file an interrupted ``what`` left behind (removed on repair)."""
    out = []
    for left in files:
        f = Finding(str(left), f"left by an interrupted {what}")
        if repair:
            left.unlink()
            f.repaired = "removed"
        out.append(f)
    return out


STALE_CHECKPOINT_DAYS = 30


def check_scf_checkpoints(cache_dir: str | Path, db: Path, repair: bool) -> list[Finding]:
    """SCF checkpoints under ``cache_dir`` whose calculation ``db`` already holds, or that no
    run has touched for ``STALE_CHECKPOINT_DAYS`` days."""
    from .engines.checkpoint import ScfCheckpoint, checkpoints
    from .store import ResultStore

    found = [c for c in checkpoints(cache_dir) if not c["running"]]
    store = None
    if found and db.exists():
        try:
            store = ResultStore(db, create=False, writable=False)
        except EnvironmentFault:  # reported by check_database
            store = None
    out = []
    for c in found:
        days = (time.time() - c["last_write"]) / 86400
        if store is not None and store.get_key(c["calc_key"]) is not None:
            problem = "SCF checkpoint of a calculation already stored"
        elif days > STALE_CHECKPOINT_DAYS:
            problem = f"SCF checkpoint untouched for {days:.0f} days"
        else:
            continue
        f = Finding(str(c["path"]), problem)
        held = ScfCheckpoint(c["path"])
        if repair and held.acquire():
            held.release(keep=False)
            f.repaired = "removed"
        out.append(f)
    return out
