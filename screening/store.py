"""The results database: every energy, keyed by (structure, method) content.

Built on ASE's database (``ase.db``): an SQLite file by default, or a PostgreSQL/MySQL URL for a
group. Each row holds the full structure (ghost atoms included, listed in ``data['ghosts']``),
the energy (Hartree in ``energy_hartree``, eV in ASE's ``energy`` column), the method, the
device, timings, SCF convergence data, software versions and the campaign/job labels. A row is
committed the moment its energy exists; asking for a stored (structure, method) returns the
row and computes nothing.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
from ase.calculators.singlepoint import SinglePointCalculator
from ase.units import Bohr, Hartree

from .geometry import Molecule
from .methods import Method
from .settings import Settings, current_settings
from .database import write_lock
from .errors import EnvironmentFault
from .specs import Part, PathResult, PathSpec, Pose, as_computed, calc_key
from .hashing import content_hash

DEFAULT_DB = Settings.db
"""The default results database (relative to the working directory), as in the settings."""
#: the column that marks an exported row as a kept structure (a guest reference or a shell)
KEPT_STRUCTURE = "kept_structure"


def default_db() -> str:
    """The settings' results database: ``$SCREENING_DB`` or ``results/screening.db`` (relative
    to the working directory)."""
    return current_settings().db


@dataclass
class Record:
    """One stored calculation (energies in Hartree)."""

    calc_key: str
    energy: float
    row: Any

    @property
    def data(self) -> dict:
        return dict(self.row.data)


def read_export(file: str | os.PathLike) -> list:
    """The rows of an exported file, each a calculation, path, pose or kept-structure record
    (InputError naming the file, and the row, if it cannot be read or a row is none of these:
    checked before anything is imported, so a bad file writes nothing)."""
    import ase.db

    from .errors import InputError

    if not Path(file).is_file():  # ASE reads a missing file as an empty database
        raise InputError("exported results file not found", str(file))
    try:
        rows = list(ase.db.connect(str(file), type="json").select())
    except Exception as exc:  # noqa: BLE001 - ASE raises what its JSON reader meets
        raise InputError(f"cannot read {file} as an exported results file: {exc}",
                         str(file)) from None
    kinds = ("calc_key", "path_key", "placement_key", KEPT_STRUCTURE)
    for row in rows:
        if not any(k in row.key_value_pairs for k in kinds):
            raise InputError(f"{file}: row {row.id} is no calculation, pose or path record "
                             "(it has none of the keys " + ", ".join(kinds) + "); nothing "
                             "was imported", str(file))
    return rows


def stored_key(key: str) -> str:
    """A hex key as it is written to the database. ASE refuses a string that reads as a number,
    and a hex key such as ``29451793e5160441`` reads as a float (about 1 key in 700), so such a
    key gets the prefix ``k:``. Every other key is stored as it is, as earlier versions did."""
    from ase.db.core import convert_str_to_int_float_bool_or_str

    return key if isinstance(convert_str_to_int_float_bool_or_str(key), str) else f"k:{key}"


def public_key(stored: str) -> str:
    """The key of a stored ``stored_key`` value."""
    return stored[2:] if stored.startswith("k:") else stored


def _keep_stamps(out, stamps: dict[int, dict]) -> None:
    """Set row fields of ``out`` (an ASE JSON database) by row id. ASE stamps each row it writes
    with the time of writing (and a new row with a random id and the user), so without this
    every export of the same records would differ: an exported record keeps its stored
    modification time; a kept structure (no record) takes the latest of those as its times
    (ASE's: years since 2000), an id from its name and no user."""
    rows, ids, next_id = out._read_json()
    for row_id, fields in stamps.items():
        rows[row_id].update(fields)
    out._write_json(rows, ids, next_id)


class ResultStore:
    """Results database at ``url`` (file path or database URL).

    ``create``: make the database if it does not exist (reading commands pass False and get
    an :class:`~screening.errors.EnvironmentFault` instead); ``writable``: it will be written
    (checked, and given the unique index and claims table; see :mod:`screening.database`).
    """

    def __init__(self, url: str | os.PathLike | None = None, create: bool = True,
                 writable: bool = True) -> None:
        import ase.db

        from .database import (Claims, connect_server, fault, is_url, prepare_server,
                               prepare_sqlite)

        self.url = str(url or default_db())
        if not is_url(self.url):
            self.url = str(Path(self.url).resolve())
            prepare_sqlite(Path(self.url), create, writable)
        try:
            if is_url(self.url):  # connected once ASE's tables exist (workers race to make them)
                self._db = connect_server(self.url)
                if writable:
                    prepare_server(self.url)
            else:
                self._db = ase.db.connect(self.url, type="db")  # SQLite, whatever its suffix
        except ModuleNotFoundError as exc:
            raise fault(self.url, f"its driver is not installed ({exc})",
                        "pip install 'screening[postgres]' for PostgreSQL") from None
        self.claims = Claims(self.url)

    def get(self, molecule: Molecule, method: Method) -> Record | None:
        """The stored record of (molecule, method), or None."""
        return self.get_key(calc_key(molecule, method))

    def get_key(self, key: str) -> Record | None:
        rows = list(self._db.select(calc_key=stored_key(key), limit=1))
        if not rows:
            return None
        return Record(key, float(rows[0].energy_hartree), rows[0])

    def put(self, molecule: Molecule, method: Method, result: dict, labels: dict | None = None
            ) -> Record:
        """Commit one result (``EnergyResult.to_dict()``); a key already stored is kept as is."""
        key = calc_key(molecule, method)
        existing = self.get_key(key)
        if existing is not None:
            return existing
        molecule = as_computed(molecule, method)  # no ONIOM region without ONIOM layers
        labels = labels or {}
        atoms = molecule.to_atoms()
        forces = None
        if result.get("gradient") is not None:
            forces = -np.asarray(result["gradient"]) * Hartree / Bohr
        atoms.calc = SinglePointCalculator(atoms, energy=result["energy"] * Hartree, forces=forces)
        kvp = {
            "calc_key": stored_key(key), "structure_key": stored_key(molecule.key()),
            "method_key": stored_key(method.key()),
            "name": molecule.name or molecule.formula, "energy_hartree": result["energy"],
            "method": method.label, "preset": method.name or "custom",
            "functional": method.functional, "basis": method.basis,
            # ASE's own 'charge' column is the sum of initial charges: use another key
            "total_charge": molecule.charge, "multiplicity": molecule.multiplicity,
            "nghost": len(molecule.ghosts), "device": result["device"],
            # every sitting of a resumed SCF: what the number cost (data.result has the parts)
            "wall_s": result["wall_s"] + float((result.get("scf_restart") or {})
                                               .get("earlier_wall_s", 0.0)),
            "scf_cycles": result["scf_cycles"],
            "scf_strategy": result["scf_strategy"], "converged": bool(result["converged"]),
            "campaign": str(labels.get("campaign", "")), "job": str(labels.get("job", "")),
        }
        if result.get("energy_check_ok") is not None:  # ASE keys cannot hold None
            kvp["energy_check_ok"] = bool(result["energy_check_ok"])
        data = {"method": method.to_dict(), "result": {k: v for k, v in result.items()
                                                       if k != "gradient"},
                "ghosts": sorted(molecule.ghosts), "labels": labels}
        if molecule.model:  # an ONIOM structure: its high-level region is part of it
            data["model"] = sorted(molecule.model)
        try:
            with write_lock(self.url):
                row_id = self._db.write(atoms, key_value_pairs=kvp, data=data)
        except Exception as exc:  # the unique index: another writer stored it first
            existing = self.get_key(key) if "unique" in str(exc).lower() else None
            if existing is None:
                raise
            return existing
        return Record(key, float(result["energy"]), self._db.get(id=row_id))

    def get_or_compute(self, molecule: Molecule, method: Method,
                       compute: Callable[[Molecule, Method], dict],
                       labels: dict | None = None, poll_s: float = 2.0,
                       wait: Callable[[str], None] | None = None) -> tuple[Record, bool]:
        """(record, computed): the stored record, or claim, compute, commit and return it.

        While another live worker holds the claim on this calculation, wait (polling every
        ``poll_s`` s; ``wait`` hears once that we do) for its record; take the claim over if
        that worker dies.
        """
        key = calc_key(molecule, method)
        told = False
        while True:
            rec = self.get_key(key)
            if rec is not None:
                return rec, False
            if self.claims.acquire(key):
                break
            if wait is not None and not told:
                wait(f"{molecule.name or molecule.formula}: another worker is computing it; "
                     "waiting for its result")
                told = True
            time.sleep(poll_s)
        with self.claims.held(key):
            rec = self.get_key(key)  # stored between our look and our claim
            if rec is not None:
                return rec, False
            return self.put(molecule, method, compute(molecule, method), labels), True

    def energy_of(self, molecule: Molecule, method: Method, labels: dict | None = None,
                  settings: Settings | None = None) -> tuple[Record, bool]:
        """(record, computed): stored, or computed with the PySCF engine and committed."""
        from .engines import single_point

        return self.get_or_compute(
            molecule, method, lambda m, me: single_point(m, me, settings=settings).to_dict(),
            labels)

    def energies(self, keys: list[str]) -> dict[str, float]:
        """Energies (Hartree) of the stored keys among ``keys``."""
        out = {}
        for k in keys:
            rec = self.get_key(k)
            if rec is not None:
                out[k] = rec.energy
        return out

    def count(self) -> int:
        """Number of stored calculations (path records not counted)."""
        return self._db.count("calc_key")

    def put_path(self, result: PathResult, spec: PathSpec, method: Method,
                 labels: dict | None = None) -> None:
        """Store a migration path: first the single points its band computed (``computed``),
        then (replacing any earlier one) the path record, whose structure is the climbing image."""
        q, m = spec.initial.charge, spec.initial.multiplicity
        for mol, res in result.computed:
            self.put(mol, method, res, {**(labels or {}), "job": f"{spec.name} :: {mol.name}"})
        top = result.images[result.climbing_image or 0]
        atoms = Molecule.from_arrays(top["symbols"], top["positions"], q, m).to_atoms()
        with write_lock(self.url):
            self._replace_path(result, spec, method, atoms)

    def _replace_path(self, result: PathResult, spec: PathSpec, method: Method, atoms) -> None:
        """The path record of ``result`` in place of any earlier one (under the write lock)."""
        for row in self._db.select(path_key=stored_key(result.path_key)):
            self._db.delete([row.id])
        kvp = {"path_key": stored_key(result.path_key), "name": result.name, "method": result.method,
               "mode": result.mode, "status": result.status, "steps": result.steps,
               "force_calls": result.force_calls, "wall_s": result.wall_s}
        for k in ("forward_eV", "reverse_eV", "max_force_eV_A", "climbing_image"):
            if getattr(result, k) is not None:
                kvp[k] = getattr(result, k)
        self._db.write(atoms, key_value_pairs=kvp,
                       data={"result": result.to_dict(), "spec": spec.to_dict(),
                             "method_dict": method.to_dict()})

    def get_path(self, path_key: str) -> dict | None:
        """The stored path result (``PathResult.to_dict()``) or None."""
        rows = list(self._db.select(path_key=stored_key(path_key), limit=1))
        return dict(rows[0].data["result"]) if rows else None

    def converged_band(self, spec: PathSpec) -> list[np.ndarray] | None:
        """The image positions (Å, endpoints included) of a converged GFN2-xTB band stored for
        the same path as ``spec`` at any method (:meth:`PathSpec.band_key`), or None."""
        if spec.mode != "xtb-path":
            return None
        key = spec.band_key()
        for row in self._db.select(mode="xtb-path", status="converged"):
            stored = PathSpec.from_dict(row.data["spec"])
            if stored.band_key() == key:
                return [np.asarray(i["positions"], dtype=float)
                        for i in row.data["result"]["images"]]
        return None

    def put_poses(self, placement_key: str, poses: list[Pose], labels: dict | None = None
                  ) -> None:
        """Store (or replace) the kept poses of one placement, rank 1 first.

        The GFN2-xTB ranking energy goes in ``data`` only: it is for ordering, not for tables.
        """
        with write_lock(self.url):
            self._replace_poses(placement_key, poses, labels)

    def _replace_poses(self, placement_key: str, poses: list[Pose], labels: dict | None
                       ) -> None:
        from ase import Atoms

        for row in self._db.select(placement_key=stored_key(placement_key)):
            self._db.delete([row.id])
        for p in poses:
            mol = p.molecule
            kvp = {"placement_key": stored_key(placement_key), "pose_rank": p.rank, "site": p.site,
                   "final_site": p.final_site, "name": mol.name, "total_charge": mol.charge,
                   "multiplicity": mol.multiplicity, **(labels or {})}
            self._db.write(Atoms(mol.symbols, mol.positions), key_value_pairs=kvp,
                           data={"pose": p.to_dict()})

    def get_poses(self, placement_key: str) -> list[Pose] | None:
        """The stored poses of a placement (rank order), or None if it has not run."""
        rows = list(self._db.select(placement_key=stored_key(placement_key)))
        if not rows:
            return None
        return sorted((Pose.from_dict(r.data["pose"]) for r in rows), key=lambda p: p.rank)

    def export(self, file: str | os.PathLike, calc_keys: list[str] = (),
               placement_keys: list[str] = (), path_keys: list[str] = (),
               structures: dict[str, dict] | None = None) -> dict[str, int]:
        """Write the stored records of these keys to ``file``, an ASE JSON database (text,
        structures, energies and metadata as stored), written whole or not at all. Keys not
        stored are left out. ``structures``: kept structures (file stem: payload, see
        :mod:`screening.campaign.resolve`), written as rows of their own. Returns the counts
        written."""
        import contextlib

        file = Path(file)
        tmp = file.with_name(file.name + ".tmp.json")
        try:
            counts = self._export(file, tmp, calc_keys, placement_keys, path_keys, structures)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
            raise EnvironmentFault(f"export file {file}: cannot be written "
                                   f"({exc.strerror or exc}); choose another with -o; nothing "
                                   "was written") from None
        return counts

    def _export(self, file: Path, tmp: Path, calc_keys, placement_keys, path_keys,
                structures: dict[str, dict] | None) -> dict[str, int]:
        """:meth:`export`'s writing: ``tmp`` first, renamed to ``file`` when whole."""
        import ase.db

        tmp.unlink(missing_ok=True)
        out = ase.db.connect(str(tmp), type="json", append=False)
        counts = {"calculations": 0, "poses": 0, "paths": 0, "structures": 0}
        stamps: dict[int, dict] = {}  # row id in the file: what it keeps (see _keep_stamps)
        selections = (("calculations", "calc_key", calc_keys),
                      ("poses", "placement_key", placement_keys), ("paths", "path_key", path_keys))
        for what, column, keys in selections:
            for key in dict.fromkeys(keys):
                for row in self._db.select(**{column: stored_key(key)}):
                    new_id = out.write(row, key_value_pairs=row.key_value_pairs, data=row.data)
                    stamps[new_id] = {"mtime": row.mtime}
                    counts[what] += 1
        latest = max((t["mtime"] for t in stamps.values()), default=0.0)
        for stem, payload in sorted((structures or {}).items()):
            new_id = out.write(Molecule.from_dict(payload["molecule"]).to_atoms(),
                               key_value_pairs={KEPT_STRUCTURE: stem}, data=payload)
            stamps[new_id] = {"ctime": latest, "mtime": latest, "user": None,
                              "unique_id": content_hash(stem, length=32)}
            counts["structures"] += 1
        if stamps:
            _keep_stamps(out, stamps)
        del out
        if not tmp.exists():  # nothing selected: an empty database is still a valid file
            tmp.write_text("{}\n")
        os.replace(tmp, file)
        return counts

    def import_file(self, file: str | os.PathLike, rows: list | None = None) -> dict[str, int]:
        """Load the records of an :meth:`export` file: a calculation or path whose key is
        stored already is kept as it is, a placement's poses only where it has none. Returns
        the counts added. ``rows``: the file's rows when already read (:func:`read_export`)."""
        rows = read_export(file) if rows is None else rows
        added = {"calculations": 0, "poses": 0, "paths": 0}
        poses: dict[str, list] = {}
        with write_lock(self.url):
            for row in rows:
                kvp = row.key_value_pairs
                if "calc_key" in kvp:
                    if self.get_key(public_key(kvp["calc_key"])) is None:
                        self._db.write(row, key_value_pairs=kvp, data=row.data)
                        added["calculations"] += 1
                elif "path_key" in kvp:
                    if self.get_path(public_key(kvp["path_key"])) is None:
                        self._db.write(row, key_value_pairs=kvp, data=row.data)
                        added["paths"] += 1
                elif "placement_key" in kvp:
                    poses.setdefault(kvp["placement_key"], []).append(row)
                # else a kept structure (read_export allows no other row): for the cache,
                # not the database (campaign.resolve)
            for key, group in poses.items():
                if self.get_poses(public_key(key)) is None:
                    for row in group:
                        self._db.write(row, key_value_pairs=row.key_value_pairs,
                                       data=row.data)
                        added["poses"] += 1
        return added

    def paths(self) -> pd.DataFrame:
        """One row per stored path."""
        cols = ["name", "status", "forward_eV", "reverse_eV", "max_force_eV_A", "steps",
                "force_calls", "wall_s", "mode", "method", "path_key"]
        rows = [{c: r.key_value_pairs.get(c) for c in cols} for r in self._db.select("path_key")]
        for r in rows:
            r["path_key"] = public_key(r["path_key"])
        return pd.DataFrame(rows, columns=cols)

    def dataframe(self, campaign: str | None = None, name: str | None = None,
                  method: str | None = None, formula: str | None = None) -> pd.DataFrame:
        """One row per stored calculation, filtered by exact campaign/name/method/formula."""
        rows = []
        for row in self._db.select("calc_key"):
            kvp = row.key_value_pairs
            rec = {"id": row.id, "name": kvp.get("name"), "formula": row.formula,
                   "natoms": row.natoms, "charge": kvp.get("total_charge"),
                   "multiplicity": kvp.get("multiplicity"), "nghost": kvp.get("nghost"),
                   "energy_hartree": kvp.get("energy_hartree"), "energy_eV": row.get("energy"),
                   "method": kvp.get("method"), "preset": kvp.get("preset"),
                   "device": kvp.get("device"), "wall_s": kvp.get("wall_s"),
                   "scf_cycles": kvp.get("scf_cycles"), "scf_strategy": kvp.get("scf_strategy"),
                   "energy_check_ok": kvp.get("energy_check_ok"),
                   "campaign": kvp.get("campaign"), "job": kvp.get("job"),
                   "calc_key": public_key(kvp.get("calc_key", ""))}
            rows.append(rec)
        df = pd.DataFrame(rows, columns=["id", "name", "formula", "natoms", "charge",
                                         "multiplicity", "nghost", "energy_hartree", "energy_eV",
                                         "method", "preset", "device", "wall_s", "scf_cycles",
                                         "scf_strategy", "energy_check_ok", "campaign", "job",
                                         "calc_key"])
        for col, val in (("campaign", campaign), ("name", name), ("method", method),
                         ("formula", formula)):
            if val is not None:
                df = df[df[col] == val]
        return df.reset_index(drop=True)

    def molecule(self, key: str) -> Molecule:
        """The stored structure of ``key`` (ghosts and, since 2026-12-06, an ONIOM region
        restored: its ``structure_key`` is then the structure's key)."""
        from dataclasses import replace

        rec = self.get_key(key)
        if rec is None:
            raise KeyError(key)
        row = rec.row
        kvp = row.key_value_pairs
        mol = Molecule.from_arrays(row.symbols, row.positions, kvp["total_charge"],
                                   kvp["multiplicity"], row.data.get("ghosts", ()),
                                   kvp.get("name", ""))
        return replace(mol, model=frozenset(row.data.get("model", ())))
