"""Placement throughput for CC3 ⊃ TFSI⁻ on one core, and the time to build each host.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/placement.py [--relax-poses 2] [--workers 2]

Prints: seconds to build each host from code (cages: stk assembly + site analysis, without the
GFN2-xTB relaxation that the cache holds; MOF clusters: cell + carving; oligomers from cache),
rigid clash-filtered candidate poses per minute at CC3's endo/window/exo sites, and GFN2-xTB
relaxed-and-ranked poses per minute, one after another and (``--workers N``) N side by side,
with the ratio and whether the ranking is the same.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--relax-poses", type=int, default=2)
    ap.add_argument("--workers", type=int, default=1, help="also relax them N at a time")
    ap.add_argument("--skip-builds", action="store_true", help="only the pose throughput")
    args = ap.parse_args()
    from screening.settings import current_settings, use_settings
    from screening.hosts import get_host
    from screening.placement import place, sample_poses
    from screening.species import get_species

    if not args.skip_builds:
        host_build_times()
    cc3 = get_host("CC3")
    tfsi = get_species("TFSI-").molecule()
    t = time.perf_counter()
    n = 0
    for seed in range(3):
        n += len(sample_poses(cc3, tfsi, ["endo", "window", "exo"], 8, seed=seed))
    dt = time.perf_counter() - t
    print(f"CC3 ⊃ TFSI⁻ rigid candidates: {n} in {dt:.1f} s = {60 * n / dt:.0f} per minute")
    k = 2 * max(1, args.relax_poses // 2)
    rates, rankings = {}, {}
    for workers in sorted({1, args.workers}):
        t = time.perf_counter()
        with use_settings(current_settings().replace(workers=workers)):
            poses = place(cc3, tfsi, ["endo", "window"], n_poses=k // 2, keep=3, seed=7,
                          progress=print)
        dt = time.perf_counter() - t
        rates[workers] = 60 * k / dt
        rankings[workers] = [(p.site, round(p.xtb_eV, 4)) for p in poses]
        print(f"CC3 ⊃ TFSI⁻ GFN2-xTB relaxed + ranked, {workers} at a time: {k} poses in "
              f"{dt:.0f} s = {rates[workers]:.2f} per minute; kept "
              f"{[p.molecule.name for p in poses]}")
    if args.workers > 1:
        print(f"side by side / one after another: {rates[args.workers] / rates[1]:.2f}x; "
              f"same ranking: {rankings[args.workers] == rankings[1]}")


def host_build_times() -> None:
    from screening.hosts import get_host
    from screening.hosts.cages import CAGES, TRIFORMYLBENZENE, assemble_imine_cage, cage_host

    print("host build times (s):")
    for name in CAGES:
        t = time.perf_counter()
        cage_host(name, assemble_imine_cage(TRIFORMYLBENZENE, CAGES[name][0], name), {})
        print(f"  {name:<22s} stk assembly + sites {time.perf_counter() - t:6.1f}")
    for name, opts in (("HKUST-1", {"cluster": "paddlewheel"}), ("ZIF-8", {"cluster": "ring6"}),
                       ("SiO2", {}), ("PVDF-HFP", {}), ("P(DOA)", {}), ("CC3", {})):
        t = time.perf_counter()
        h = get_host(name, **opts)
        print(f"  {h.name:<22s} {h.molecule.natoms:4d} atoms      {time.perf_counter() - t:6.1f}"
              + ("  (cached GFN2-xTB geometry + sites)" if name in ("CC3", "PVDF-HFP", "P(DOA)")
                 else ""))


if __name__ == "__main__":
    main()
