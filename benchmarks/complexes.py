"""Co-placement throughput: Li⁺ + TFSI⁻ + 2 PC as one cluster, in the HKUST-1 paddlewheel pocket
and on the SiO₂/PVDF-HFP interface, and the cost of a solvation shell.

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/complexes.py [--relax-poses 2] [--skip-mof]

Prints, per host: rigid clash-filtered candidates per minute (cluster built once, then sampled
at the site), and GFN2-xTB relaxed-and-ranked poses per minute (``--relax-poses`` of them);
then the time for a GFN2-xTB Li⁺(EC)₃(DEC) shell (4 candidates).
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "2")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--relax-poses", type=int, default=2)
    ap.add_argument("--skip-mof", action="store_true", help="only the silica interface")
    args = ap.parse_args()
    from screening.complexes import guest_cluster, shell
    from screening.hosts import get_host
    from screening.placement import place, sample_poses
    from screening.species import get_species

    sp = [get_species(n).molecule() for n in ("Li+", "TFSI-", "PC", "PC")]
    t = time.perf_counter()
    cluster, parts = guest_cluster(sp, seed=7)
    print(f"Li+ + TFSI- + 2 PC cluster ({cluster.natoms} atoms, parts "
          f"{[p.role for p in parts]}) built in {time.perf_counter() - t:.2f} s")
    cases = [("SiO2/PVDF-HFP", {}, ["exo"])]
    if not args.skip_mof:
        cases.insert(0, ("HKUST-1", {"cluster": "paddlewheel"}, ["open_metal"]))
    for name, opts, sites in cases:
        host = get_host(name, **opts)
        t = time.perf_counter()
        n = sum(len(sample_poses(host, cluster, sites, 8, seed=s)) for s in range(3))
        dt = time.perf_counter() - t
        print(f"{host.name} ({host.molecule.natoms} atoms) ⊃ cluster at {sites}: rigid "
              f"candidates {n} in {dt:.1f} s = {60 * n / dt:.0f} per minute")
        t = time.perf_counter()
        poses = place(host, cluster, sites, n_poses=args.relax_poses, keep=args.relax_poses,
                      seed=7, progress=print)
        dt = time.perf_counter() - t
        print(f"{host.name} ⊃ cluster: GFN2-xTB relaxed + ranked {args.relax_poses} poses in "
              f"{dt:.0f} s = {60 * args.relax_poses / dt:.2f} per minute; kept {len(poses)}")
    t = time.perf_counter()
    ec, dec = get_species("EC").molecule(), get_species("DEC").molecule()
    shells = shell(sp[0], [ec, ec, ec, dec], candidates=4, keep=1, seed=7, progress=print)
    print(f"Li+(EC)3(DEC) shell: 4 candidates relaxed in {time.perf_counter() - t:.0f} s; best "
          f"{shells[0][0].name}")


if __name__ == "__main__":
    main()
