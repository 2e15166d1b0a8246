"""Pipeline overhead per calculation against calling PySCF directly, as ratios in one run.

1. One minute-scale single point (default TFSI⁻, B3LYP-D3(BJ)/def2-SVP, 1 thread) computed
   (a) with PySCF directly (mol + RKS + density fitting + D3(BJ) + kernel) and
   (b) through ``screening run`` machinery: campaign → FireWorks workflow on the embedded store →
       EnergyTask → engine → results database → collector.
   overhead = (b − a) / a.
2. Pure bookkeeping: N fireworks whose energies are already stored (queue + store + progress),
   in ms per firework.

Usage: .venv/bin/python benchmarks/pipeline_overhead.py [--species TFSI-] [--threads 1]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--species", default="TFSI-")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--bookkeeping", type=int, default=40, help="cached fireworks to time")
    args = ap.parse_args()
    os.environ["SCREENING_THREADS"] = str(args.threads)
    work = Path(tempfile.mkdtemp(prefix="screening-bench-"))
    os.chdir(work)
    from screening.pipeline.launchpad import use_embedded_store

    use_embedded_store(work / "store.json")
    from pyscf import dft, gto, lib

    from screening.campaign import load_campaign
    from screening.pipeline.local import run_local
    from screening.species import get_species

    lib.num_threads(args.threads)
    mol = get_species(args.species).molecule()
    # (a) PySCF directly
    t0 = time.perf_counter()
    pmol = gto.M(atom=list(zip(mol.symbols, mol.positions)), basis="def2-svp",
                 charge=mol.charge, spin=mol.multiplicity - 1, verbose=0, max_memory=8000)
    mf = dft.RKS(pmol, xc="b3lyp").density_fit()
    mf.disp = "d3bj"
    e_direct = mf.kernel()
    t_direct = time.perf_counter() - t0
    # (b) the pipeline: a campaign with one reaction quantity whose only term is the species
    (work / "one.yaml").write_text(
        f"name: bench\nmethod: screening\nquantities:\n"
        f"  - {{name: E, kind: reaction, terms: [{{structure: {args.species}, coefficient: 1}},"
        f" {{structure: {args.species}, coefficient: -1}}]}}\n")
    campaign = load_campaign(work / "one.yaml")
    t0 = time.perf_counter()
    run_local(campaign, str(work / "r.db"), work / "store.json", work / "out", progress=None)
    t_pipe = time.perf_counter() - t0
    from screening.store import ResultStore

    e_pipe = ResultStore(work / "r.db").dataframe()["energy_hartree"].iloc[0]
    print(f"{args.species}: {mol.natoms} atoms, B3LYP-D3BJ/def2-SVP, {args.threads} thread(s)")
    print(f"  PySCF directly      {t_direct:8.2f} s   E = {e_direct:.9f} Eh")
    print(f"  through pipeline    {t_pipe:8.2f} s   E = {e_pipe:.9f} Eh")
    print(f"  overhead            {100 * (t_pipe - t_direct) / t_direct:8.2f} %"
          f"   (|ΔE| = {abs(e_pipe - e_direct):.1e} Eh)")
    # 2. bookkeeping only: N cached fireworks
    names = ["Li+", "Na+", "K+"]
    lines = "\n".join(f"  - {{name: r{i}, kind: reaction, terms: [{{structure: {names[i % 3]}, "
                      f"coefficient: 1}}, {{structure: {names[i % 3]}, coefficient: -1}}]}}"
                      for i in range(args.bookkeeping))
    (work / "many.yaml").write_text(f"name: many\nmethod: {{preset: screening, basis: sto-3g}}\n"
                                    f"quantities:\n{lines}\n")
    many = load_campaign(work / "many.yaml")
    run_local(many, str(work / "r.db"), work / "store2.json", work / "out2", progress=None)
    # the same three energies again under a new campaign name: every firework is a cache hit
    (work / "many2.yaml").write_text((work / "many.yaml").read_text().replace("name: many",
                                                                             "name: many2"))
    many2 = load_campaign(work / "many2.yaml")
    t0 = time.perf_counter()
    run_local(many2, str(work / "r.db"), work / "store2.json", work / "out3", progress=None)
    dt = time.perf_counter() - t0
    n_fw = len(many2.calculations()) + 1
    print(f"  bookkeeping         {1000 * dt / n_fw:8.1f} ms per firework ({n_fw} fireworks, "
          "energies already stored, collector included)")


if __name__ == "__main__":
    main()
