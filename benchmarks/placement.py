"""Placement throughput for CC3 ⊃ TFSI⁻, and the time to build each host.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/placement.py [--relax-poses 2] [--workers 2]
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/placement.py --skip-builds --skip-serial \
        --relax-poses 12 --workers 2 --screen-fmax 0.3
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/placement.py --skip-builds --skip-serial \
        --relax-poses 12 --workers 2 --optimizer tric
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/placement.py --skip-builds --skip-serial \
        --relax-poses 12 --workers 2 --prerelax gfn-ff [--screen-fmax 0.3]
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/placement.py --skip-builds --skip-serial \
        --relax-poses 12 --workers 2 --screen gfn-ff

Prints: seconds to build each host from code (cages: stk assembly + site analysis, without the
GFN2-xTB relaxation that the cache holds; MOF clusters: cell + carving; oligomers from cache),
rigid clash-filtered candidate poses per minute at CC3's endo/window/exo sites, and GFN2-xTB
relaxed-and-ranked poses per minute: one after another (unless ``--skip-serial``), ``--workers
N`` side by side, (``--screen-fmax F``) N side by side through the funnel and (``--optimizer
tric``) N side by side relaxed by geomeTRIC instead of BFGS, (``--prerelax gfn-ff``) N side by
side pre-relaxed with GFN-FF (and, with ``--screen-fmax``, through the funnel too), (``--screen
gfn-ff``) N side by side through the force-field funnel (every candidate relaxed with GFN-FF and
scored by a GFN2-xTB single point, the best 2 × keep relaxed with GFN2-xTB), each with its rate
relative to the first and whether its top 3 are the first's (guest RMSD < 0.5 Å, rank by
rank).
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
    ap.add_argument("--skip-serial", action="store_true", help="no one-after-another run")
    ap.add_argument("--screen-fmax", type=float, help="also the funnel at this threshold")
    ap.add_argument("--optimizer", choices=["tric"], help="also N side by side with geomeTRIC")
    ap.add_argument("--prerelax", choices=["gfn-ff"], help="also N side by side pre-relaxed")
    ap.add_argument("--screen", choices=["gfn-ff"],
                    help="also N side by side through the force-field funnel")
    args = ap.parse_args()
    from screening.settings import current_settings, use_settings
    from screening.hosts import get_host
    from screening.placement import guest_rmsd, place, sample_poses
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
    sites = ["endo", "window", "exo"] if args.relax_poses >= 6 else ["endo", "window"]
    per_site = max(1, args.relax_poses // len(sites))
    k = per_site * len(sites)
    runs = [] if args.skip_serial else [("one after another", 1, {})]
    if args.workers > 1 or args.skip_serial:
        runs.append((f"{args.workers} side by side", args.workers, {}))
    if args.screen_fmax:
        runs.append((f"{args.workers} side by side, funnel {args.screen_fmax} eV/Å",
                     args.workers, {"screen_fmax": args.screen_fmax}))
    if args.optimizer:
        runs.append((f"{args.workers} side by side, {args.optimizer}", args.workers,
                     {"optimizer": args.optimizer}))
    if args.prerelax:
        runs.append((f"{args.workers} side by side, {args.prerelax} first", args.workers,
                     {"prerelax": args.prerelax}))
        if args.screen_fmax:
            runs.append((f"{args.workers} side by side, {args.prerelax} first, funnel "
                         f"{args.screen_fmax} eV/Å", args.workers,
                         {"screen_fmax": args.screen_fmax, "prerelax": args.prerelax}))
    if args.screen:
        runs.append((f"{args.workers} side by side, {args.screen} funnel", args.workers,
                     {"screen": args.screen}))
    first = None
    for label, workers, search in runs:
        t = time.perf_counter()
        with use_settings(current_settings().replace(workers=workers)):
            poses = place(cc3, tfsi, sites, n_poses=per_site, keep=3, seed=7, progress=print,
                          **search)
        dt = time.perf_counter() - t
        rate = 60 * k / dt
        print(f"CC3 ⊃ TFSI⁻ GFN2-xTB relaxed + ranked, {label}: {k} poses in {dt:.0f} s = "
              f"{rate:.2f} per minute; kept "
              + ", ".join(f"{p.final_site} {p.xtb_eV:.3f} eV" for p in poses))
        if first is None:
            first = (rate, poses)
            continue
        same = len(poses) == len(first[1]) and all(
            guest_rmsd(a, b) < 0.5 for a, b in zip(poses, first[1]))
        shift = max(abs(a.xtb_eV - b.xtb_eV) for a, b in zip(poses, first[1]))
        print(f"  rate / first: {rate / first[0]:.2f}x; same top {len(poses)}: {same}; "
              f"largest energy change rank by rank {shift:.3f} eV")


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
