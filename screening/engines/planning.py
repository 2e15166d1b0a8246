"""Memory planning and initial guesses for large host–guest systems.

Density fitting keeps the three-index tensor (P|μν): naux × nao(nao+1)/2 × 8 bytes. For a cage
with a guest (CC3 ⊃ TFSI⁻, 183 atoms) that is ~10² GB at def2-SVP, beyond a 2-core box and at the
edge of one GPU. :func:`plan_scf` says how the SCF will run, and why:

* on a GPU, density fitting where the tensor fits in a fraction of the free GPU memory, direct
  (integral-direct) SCF otherwise;
* on a CPU, density fitting with the tensor in memory where it fits in PySCF's own budget for this
  calculation (``mol.max_memory``, shared among the workers), else with the tensor on disk (PySCF
  writes it to ``pyscf.lib.param.TMPDIR`` by itself) where the disk has room, else direct SCF.
  On disk beats direct: at 430 basis functions (``benchmarks/scf_plan.py --units 6``, one
  thread, same budget) the tensor on disk took 0.91× the in-memory time and direct SCF 1.91×.

The plan rests on the calculation's memory budget, not on the memory free at the moment, so two
workers side by side plan alike. The engine records the plan and falls back to direct SCF when
density fitting runs out of memory.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import asdict, dataclass

from ..methods import Method

DF_MEMORY_FRACTION = 0.6
"""Share of the free GPU memory the DF tensor may take (the rest: Fock, grids, buffers)."""

DF_CPU_MEMORY_FRACTION = 0.9
"""Share of PySCF's ``max_memory`` below which PySCF keeps the DF tensor in memory (its own rule,
``pyscf.df.DF.build``); above it PySCF writes the tensor to disk."""

DF_DISK_FRACTION = 0.8
"""Share of the free disk under PySCF's TMPDIR that a DF tensor kept on disk may take."""


@dataclass(frozen=True)
class SCFPlan:
    """How an SCF will be run: ``density_fit`` or direct, with the numbers behind the choice."""

    density_fit: bool
    nao: int
    naux: int
    df_tensor_gb: float
    available_gb: float
    reason: str
    df_on_disk: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


def df_tensor_bytes(nao: int, naux: int) -> int:
    """Bytes of the packed DF tensor (P|μν), μ ≥ ν, in float64."""
    return 8 * naux * nao * (nao + 1) // 2


def available_bytes(device: str, max_memory_mb: int = 0) -> int:
    """Free memory of the GPU (``device`` 'gpu'), else the calculation's budget
    ``max_memory_mb`` less what this process holds already (PySCF's own reckoning), else the
    host's free memory, in bytes."""
    if device == "gpu":
        import cupy

        free, _total = cupy.cuda.runtime.memGetInfo()
        return int(free)
    if max_memory_mb:
        from pyscf import lib

        return int(max(0.0, max_memory_mb - lib.current_memory()[0]) * 10**6)
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")


def disk_bytes() -> int:
    """Free bytes on the disk under PySCF's scratch directory (``pyscf.lib.param.TMPDIR``)."""
    from pyscf import lib

    return shutil.disk_usage(lib.param.TMPDIR).free


def choose(nao: int, naux: int, available: int, requested_df: bool,
           disk: int | None = None) -> SCFPlan:
    """The plan for a system of ``nao`` basis and ``naux`` auxiliary functions (pure function).

    ``available``: bytes of memory (free GPU memory, or the CPU calculation's budget); ``disk``:
    free scratch bytes on a CPU, None on a GPU (whose density fitting cannot use the disk)."""
    need = df_tensor_bytes(nao, naux)
    gb = 1e-9
    if not requested_df:
        return SCFPlan(False, nao, naux, need * gb, available * gb, "method asks for no DF")
    share = DF_MEMORY_FRACTION if disk is None else DF_CPU_MEMORY_FRACTION
    fits = f"{need * gb:.3g} GB {{}} {share:.0%} of {available * gb:.3g} GB"
    if need <= share * available:
        return SCFPlan(True, nao, naux, need * gb, available * gb,
                       "DF tensor " + fits.format("fits in"))
    if disk is not None and need <= DF_DISK_FRACTION * disk:
        return SCFPlan(True, nao, naux, need * gb, available * gb,
                       "DF tensor " + fits.format("exceeds") + f": on disk "
                       f"({disk * gb:.3g} GB free)", df_on_disk=True)
    room = "" if disk is None else f" and {DF_DISK_FRACTION:.0%} of {disk * gb:.3g} GB of disk"
    return SCFPlan(False, nao, naux, need * gb, available * gb,
                   "DF tensor " + fits.format("exceeds") + room + ": direct SCF")


def plan_scf(mol, method: Method, device: str = "cpu", available: int | None = None,
             max_memory_mb: int = 0) -> SCFPlan:
    """Plan the SCF of a built PySCF ``mol`` at ``method`` on ``device`` (``available`` bytes, or
    what :func:`available_bytes` finds)."""
    from pyscf import df

    naux = df.make_auxmol(mol, method.auxbasis or df.make_auxbasis(mol, mp2fit=False)).nao \
        if method.density_fit else 0
    return choose(mol.nao, naux, available if available is not None else
                  available_bytes(device, max_memory_mb),
                  method.density_fit, disk=None if device == "gpu" else disk_bytes())
