"""How an SCF runs on a CPU when memory is short: density fitting (DF) with the three-index tensor
in memory, DF with the tensor on disk (PySCF's outcore path), and integral-direct SCF, on the same
molecule in one run, as ratios.

Molecule: CH₃–(CF₂–CH₂)ₙ–H (``--units``, RDKit ETKDG seed 7 + MMFF94). Level: ``--preset``
(default ``screening-grid3``, the seed campaigns' DFT level). The engine's mean-field object
(:func:`screening.engines.pyscf.build_scf`) runs three times with the same memory budget: as
built (tensor in memory), with PySCF told to keep the tensor in a file (``_cderi_to_save``: the
outcore path that a budget too small for the tensor takes), and without density fitting. Prints,
per way: wall time, SCF cycles, the energy, and each time over the in-memory one.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/scf_plan.py [--units 4] [--preset NAME]
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--units", type=int, default=4)
    ap.add_argument("--preset", default="screening-grid3")
    args = ap.parse_args()
    import tempfile
    import time

    from pyscf import df, lib

    from screening.engines.planning import df_tensor_bytes
    from screening.engines.pyscf import build_mol, build_scf
    from screening.methods import get_method
    from screening.species import build_from_smiles

    mol = build_from_smiles("C" + "C(F)(F)C" * args.units, seed=7,
                            name=f"CH3-(CF2-CH2){args.units}-H")[0]
    method = get_method(args.preset)
    pmol = build_mol(mol, method)
    naux = df.make_auxmol(pmol, method.auxbasis or df.make_auxbasis(pmol)).nao
    print(f"{mol.name}: {mol.natoms} atoms, {pmol.nao} basis functions, {naux} auxiliary, "
          f"DF tensor {df_tensor_bytes(pmol.nao, naux) / 1e9:.2f} GB; {method.label}; "
          f"{lib.num_threads()} thread(s), PySCF budget {pmol.max_memory:.0f} MB")

    def run(name: str, mf) -> tuple[str, float, int, float]:
        t0 = time.perf_counter()
        e = float(mf.kernel())
        return name, time.perf_counter() - t0, int(mf.cycles), e

    with tempfile.TemporaryDirectory(dir=lib.param.TMPDIR) as tmp:
        on_disk = build_scf(pmol, method)
        on_disk.with_df._cderi_to_save = str(Path(tmp) / "cderi.h5")
        runs = [run("DF, tensor in memory", build_scf(pmol, method)),
                run("DF, tensor on disk", on_disk),
                run("direct SCF", build_scf(pmol, replace(method, density_fit=False)))]
    base = runs[0][1]
    for name, wall, cycles, e in runs:
        print(f"  {name:22s} {wall:8.1f} s  {cycles:3d} cycles  {wall / base:5.2f}x  "
              f"E = {e:.9f}")


if __name__ == "__main__":
    main()
