"""SCF checkpoints: a single point cut off (a killed worker, the end of a sitting) resumes from
the orbitals of its last finished SCF cycle instead of from the start.

PySCF writes the orbitals to ``mf.chkfile`` after every SCF cycle. Here that file lives at
``<cache_dir>/scf/<calc key>.chk``, so the same structure at the same method finds it again in
a later process, and it is removed once the calculation has converged or failed for good. The
file also keeps how long earlier sittings ran (s), so a resumed record can state its whole cost.
A lock beside the file keeps a second process computing the same thing at the same time from
writing to it (that one runs without a checkpoint). CPU runs only.
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..geometry import Molecule
from ..methods import Method
from ..settings import Settings

GROUP = "screening"  # our bookkeeping inside the PySCF chkfile


class ScfCheckpoint:
    """The checkpoint of one (structure, method): open it, resume from it, drop it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock_fd: int | None = None
        self.restart: dict[str, Any] | None = None  # sittings, earlier_wall_s when resumed

    @classmethod
    def of(cls, molecule: Molecule, method: Method, settings: Settings) -> ScfCheckpoint:
        from ..specs import calc_key

        return cls(Path(settings.cache_dir) / "scf" / f"{calc_key(molecule, method)}.chk")

    @classmethod
    def start(cls, molecule: Molecule, method: Method, settings: Settings, nao: int
              ) -> tuple[ScfCheckpoint | None, np.ndarray | None]:
        """This sitting's checkpoint and the density to resume from (None: start afresh).
        (None, None) when none can be kept: another process holds it, or the folder cannot be
        written; the calculation then runs without one."""
        checkpoint = cls.of(molecule, method, settings)
        if not checkpoint.acquire():
            return None, None
        try:
            return checkpoint, checkpoint.initial_density(nao)
        except OSError:
            checkpoint.release(keep=True)
            return None, None

    def acquire(self) -> bool:
        """Take the lock; False (no checkpointing) when another process holds it or the folder
        cannot be written."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path.with_suffix(".lock"), os.O_CREAT | os.O_RDWR, 0o644)
        except OSError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._lock_fd = fd
        return True

    def initial_density(self, nao: int) -> np.ndarray | None:
        """The density of the last finished cycle of an earlier sitting (``nao`` basis
        functions), or None; starts this sitting's bookkeeping either way."""
        from pyscf import lib

        earlier_s, sittings, dm = 0.0, 1, None
        if self.path.exists():
            try:
                scf = lib.chkfile.load(str(self.path), "scf")
                meta = lib.chkfile.load(str(self.path), GROUP) or {}
                mo_coeff, mo_occ = np.asarray(scf["mo_coeff"]), np.asarray(scf["mo_occ"])
                if mo_coeff.shape[-2] == nao:
                    dm = _density(mo_coeff, mo_occ)
                    last_cycle_at = self.path.stat().st_mtime
                    earlier_s = float(meta.get("earlier_wall_s", 0.0)) + max(
                        0.0, last_cycle_at - float(meta.get("sitting_started", last_cycle_at)))
                    sittings = int(meta.get("sittings", 1)) + 1
                    self.restart = {"sittings": sittings, "earlier_wall_s": earlier_s}
            except BlockingIOError:  # someone has the file open: leave it as it is
                raise
            except (OSError, KeyError, TypeError, ValueError):
                dm = None
            if dm is None:
                self.path.unlink(missing_ok=True)  # unreadable or another basis: start afresh
        lib.chkfile.dump(str(self.path), GROUP, {"sittings": sittings,
                                                 "earlier_wall_s": earlier_s,
                                                 "sitting_started": time.time()})
        return dm

    def holds_orbitals(self) -> bool:
        """Whether the file holds the orbitals of a finished SCF cycle, so a run resumes from
        it (a sitting stopped before its first cycle leaves bookkeeping only). Read without
        HDF5's file lock, so an SCF writing it meanwhile is not disturbed; a file that cannot be
        read counts as holding none."""
        import h5py

        try:
            with h5py.File(self.path, "r", locking=False) as f:
                return "scf/mo_coeff" in f
        except (OSError, ValueError, KeyError):
            return False

    def release(self, keep: bool) -> None:
        """Unlock; remove the file and its lock unless ``keep`` (the calculation was cut off)."""
        if not keep:
            self.path.unlink(missing_ok=True)
            if self._lock_fd is not None:
                self.path.with_suffix(".lock").unlink(missing_ok=True)
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None


def _density(mo_coeff: np.ndarray, mo_occ: np.ndarray) -> np.ndarray:
    """Density matrix from orbitals: (nao, nao), or (2, nao, nao) for unrestricted ones."""
    if mo_coeff.ndim == 2:
        return (mo_coeff * mo_occ) @ mo_coeff.T
    return np.stack([(c * o) @ c.T for c, o in zip(mo_coeff, mo_occ)])


def checkpoints(cache_dir: str | Path) -> list[dict[str, Any]]:
    """The SCF checkpoints kept under ``cache_dir``: path, calc key, size (bytes), last write
    (epoch s, about the end of the last finished cycle), whether a process is computing it now
    and whether it holds orbitals to resume from (:meth:`ScfCheckpoint.holds_orbitals`, which
    takes no HDF5 lock)."""
    out = []
    for chk in sorted((Path(cache_dir) / "scf").glob("*.chk")):
        probe = ScfCheckpoint(chk)
        running = not probe.acquire()
        probe.release(keep=True)
        stat = chk.stat()
        out.append({"path": chk, "calc_key": chk.stem, "bytes": stat.st_size, "last_write": stat.st_mtime,
                    "running": running, "orbitals": probe.holds_orbitals()})
    return out
