"""GPU engine benchmark: the same molecule on the GPU and on this machine's CPU cores, as a ratio.

Molecule: CH₃–(CF₂–CH₂)₈–H (53 atoms, RDKit ETKDG seed 7 + MMFF94) or ``--xyz FILE`` (e.g. CC3 ⊃
TFSI⁻ once the cage builders exist). Levels: B3LYP-D3(BJ)/def2-TZVP by default (``--basis``,
``--functional``). For each device: wall time, SCF cycles, the SCF plan (density fitting or
direct) and, on the GPU, peak GPU memory; then |E_GPU − E_CPU| (target < 1e-6 Eh) and the
pipeline's overhead over calling gpu4pyscf directly.

Usage (on a GPU machine, after pip install -e ".[gpu]"):
    python benchmarks/gpu_engine.py [--xyz FILE --charge Q] [--basis def2-tzvp] [--skip-cpu]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--xyz")
    ap.add_argument("--charge", type=int, default=0)
    ap.add_argument("--basis", default="def2-tzvp")
    ap.add_argument("--functional", default="b3lyp")
    ap.add_argument("--skip-cpu", action="store_true")
    args = ap.parse_args()
    from screening.engines.pyscf import build_mol, build_scf, compute, gpu_name
    from screening.geometry import read_structure
    from screening.methods import Method
    from screening.species import build_from_smiles

    if gpu_name() is None:
        print("no CUDA GPU with gpu4pyscf here: nothing to measure (install the gpu extra on a "
              "GPU node)")
        return
    mol = read_structure(args.xyz, args.charge) if args.xyz else \
        build_from_smiles("C" + "C(F)(F)C" * 8, seed=7, name="PVDF octamer")[0]
    method = Method(args.functional, args.basis, "d3bj" if args.functional != "wb97m-v" else None)
    print(f"{mol.name or mol.formula}: {mol.natoms} atoms, {method.label}, "
          f"GPU {gpu_name()}, {os.cpu_count()} CPU cores")
    import cupy

    cupy.get_default_memory_pool().free_all_blocks()
    gpu = compute(mol, method, device="gpu")
    peak = cupy.get_default_memory_pool().total_bytes() / 1e9
    print(f"  GPU  {gpu.wall_s:8.1f} s  {gpu.scf_cycles:3d} cycles  plan {gpu.scf_plan.get('reason')}"
          f"  pool peak {peak:.1f} GB  E = {gpu.energy:.9f}")
    # pipeline overhead over gpu4pyscf directly (same build, kernel only)
    t0 = time.perf_counter()
    mf = build_scf(build_mol(mol, method), method, "gpu")
    e_direct = float(mf.kernel())
    direct = time.perf_counter() - t0
    print(f"  gpu4pyscf directly {direct:.1f} s; engine {gpu.wall_s:.1f} s: overhead "
          f"{100 * (gpu.wall_s - direct) / direct:.1f} % (energy check and plan included); "
          f"|ΔE| = {abs(e_direct - gpu.energy):.1e} Eh")
    if not args.skip_cpu:
        cpu = compute(mol, method, device="cpu")
        print(f"  CPU  {cpu.wall_s:8.1f} s  {cpu.scf_cycles:3d} cycles  E = {cpu.energy:.9f}")
        print(f"  speed-up GPU/CPU: {cpu.wall_s / gpu.wall_s:.1f}x   |E_GPU - E_CPU| = "
              f"{abs(gpu.energy - cpu.energy):.1e} Eh")


if __name__ == "__main__":
    main()
