"""NEB benchmark: Li⁺ hopping between neighbouring CF₂ sites of a PVDF tetramer (27 atoms).

H–(CH₂–CF₂)₄–H from RDKit (ETKDG seed 7 + MMFF94, all-trans backbone not enforced), the chain
frozen; Li⁺ starts 2.0 Å from both F of one CF₂ pair-site and ends at the next one along the chain;
endpoints relaxed (Li⁺ only) with geomeTRIC, then climbing-image NEB, both at
B3LYP-D3(BJ)/def2-SVP. Reports wall time, force calls and the barrier; ``--mode xtb-path`` for
the DFT//GFN2-xTB variant.

Usage: .venv/bin/python benchmarks/neb_li_hop.py [--images 3] [--mode dft] [--threads 2]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def pvdf_hop() -> tuple:
    from screening.geometry import Molecule, bonded_pairs
    from screening.species import build_from_smiles

    chain = build_from_smiles("C(F)(F)CC(F)(F)CC(F)(F)CC(F)(F)C", seed=7)[0]
    pos = np.asarray(chain.positions)
    bonds = bonded_pairs(chain)
    cf2 = [i for i, s in enumerate(chain.symbols) if s == "C" and
           sum(1 for a, b in bonds if i in (a, b) and chain.symbols[b if a == i else a] == "F") == 2]

    def site(c1: int, c2: int) -> np.ndarray:
        """Li⁺ 2.0 Å out from the midpoint of the F atoms of two neighbouring CF₂ groups."""
        fs = [b if a in (c1, c2) else a for a, b in bonds
              if (a in (c1, c2) or b in (c1, c2)) and "F" in (chain.symbols[a], chain.symbols[b])]
        centre = pos[fs].mean(axis=0)
        out = centre - pos[[c1, c2]].mean(axis=0)
        return centre + 1.2 * out / np.linalg.norm(out)

    ends = [site(cf2[0], cf2[1]), site(cf2[1], cf2[2])]
    mols = [Molecule.from_arrays(["Li", *chain.symbols], [e, *pos], 1, 1, name=f"Li+PVDF {k}")
            for k, e in enumerate(ends)]
    return mols, tuple(range(1, chain.natoms + 1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--images", type=int, default=3)
    ap.add_argument("--mode", default="dft", choices=("dft", "xtb-path"))
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()
    os.environ["SCREENING_THREADS"] = str(args.threads)
    from screening.methods import get_method
    from screening.neb import PathSpec, run_path
    from screening.store import ResultStore

    (ini, fin), fixed = pvdf_hop()
    work = Path(tempfile.mkdtemp(prefix="screening-neb-"))
    spec = PathSpec("Li+ hop along PVDF", ini, fin, images=args.images, fixed=fixed,
                    relax_endpoints=True, mode=args.mode)
    t0 = time.perf_counter()
    r = run_path(spec, get_method("screening"), ResultStore(work / "r.db"), work / "band",
                 progress=lambda m: print(m, flush=True))
    print(f"{ini.natoms} atoms, {args.images} images, mode {args.mode}, {args.threads} threads")
    print(f"  status {r.status}; barrier forward {r.forward_eV:.3f} eV, reverse "
          f"{r.reverse_eV:.3f} eV [{r.method}]")
    print(f"  wall {time.perf_counter() - t0:.0f} s (endpoint relaxation included), NEB steps "
          f"{r.steps}, force calls {r.force_calls}")


if __name__ == "__main__":
    main()
