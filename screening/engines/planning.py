"""Memory planning and initial guesses for large host–guest systems.

Density fitting keeps the three-index tensor (P|μν) in memory: naux × nao(nao+1)/2 × 8 bytes.
For a cage with a guest (CC3 ⊃ TFSI⁻, 183 atoms) that is ~10² GB at def2-SVP, beyond a 2-core
box and at the edge of one GPU. :func:`plan_scf` picks density fitting when the tensor fits in a
fraction of the memory at hand and direct (integral-direct) SCF otherwise, and says why; the
engine records the plan and falls back to direct SCF when density fitting runs out of memory.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass

from ..methods import Method

DF_MEMORY_FRACTION = 0.6
"""Share of the available memory the DF tensor may take (the rest: Fock, grids, buffers)."""


@dataclass(frozen=True)
class SCFPlan:
    """How an SCF will be run: ``density_fit`` or direct, with the numbers behind the choice."""

    density_fit: bool
    nao: int
    naux: int
    df_tensor_gb: float
    available_gb: float
    reason: str

    def to_dict(self) -> dict:
        return asdict(self)


def df_tensor_bytes(nao: int, naux: int) -> int:
    """Bytes of the packed DF tensor (P|μν), μ ≥ ν, in float64."""
    return 8 * naux * nao * (nao + 1) // 2


def available_bytes(device: str, max_memory_mb: int = 0) -> int:
    """Free memory of the GPU (``device`` 'gpu') or of the host (``max_memory_mb`` if set), in
    bytes."""
    if device == "gpu":
        import cupy

        free, _total = cupy.cuda.runtime.memGetInfo()
        return int(free)
    if max_memory_mb:
        return max_memory_mb * 10**6
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")


def choose(nao: int, naux: int, available: int, requested_df: bool) -> SCFPlan:
    """The plan for a system of ``nao`` basis and ``naux`` auxiliary functions (pure function)."""
    need = df_tensor_bytes(nao, naux)
    gb = 1e-9
    if not requested_df:
        return SCFPlan(False, nao, naux, need * gb, available * gb, "method asks for no DF")
    if need <= DF_MEMORY_FRACTION * available:
        return SCFPlan(True, nao, naux, need * gb, available * gb,
                       f"DF tensor {need * gb:.1f} GB fits in {DF_MEMORY_FRACTION:.0%} of "
                       f"{available * gb:.1f} GB")
    return SCFPlan(False, nao, naux, need * gb, available * gb,
                   f"DF tensor {need * gb:.1f} GB exceeds {DF_MEMORY_FRACTION:.0%} of "
                   f"{available * gb:.1f} GB: direct SCF")


def plan_scf(mol, method: Method, device: str = "cpu", available: int | None = None,
             max_memory_mb: int = 0) -> SCFPlan:
    """Plan the SCF of a built PySCF ``mol`` at ``method`` on ``device`` (``available`` bytes, or
    what :func:`available_bytes` finds)."""
    from pyscf import df

    naux = df.make_auxmol(mol, method.auxbasis or df.make_auxbasis(mol, mp2fit=False)).nao \
        if method.density_fit else 0
    return choose(mol.nao, naux, available if available is not None else
                  available_bytes(device, max_memory_mb),
                  method.density_fit)
