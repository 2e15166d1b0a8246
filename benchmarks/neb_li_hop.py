"""NEB benchmark: Li⁺ hopping between two F sites of a PVDF oligomer (27 atoms).

H–(CH₂–CF₂)₄–H, the cached GFN2-xTB host ``PVDF-HFP`` (units 4, hfp_units 0); the hop's two
states come from :func:`screening.hops.hop_endpoints` (automatic anchors, atoms beyond 6 Å of
both ion positions fixed), are pre-relaxed with GFN2-xTB, then the climbing-image band is
converged. Reports the wall time of each stage, NEB steps, force calls and the barrier.

Usage: .venv/bin/python benchmarks/neb_li_hop.py [--mode xtb-path|dft] [--basis def2-svp]
       [--images 3] [--max-steps 200] [--relax-endpoints] [--threads 2]
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
    ap.add_argument("--mode", default="xtb-path", choices=("dft", "xtb-path"))
    ap.add_argument("--basis", default="def2-svp")
    ap.add_argument("--images", type=int, default=3)
    ap.add_argument("--max-steps", type=int, default=200)
    ap.add_argument("--relax-endpoints", action="store_true",
                    help="also relax the endpoints with geomeTRIC at the DFT level")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()
    os.environ["SCREENING_THREADS"] = str(args.threads)
    from screening.hops import hop_endpoints
    from screening.hosts import get_host
    from screening.methods import get_method
    from screening.neb import PathSpec
    from screening.pipeline.stored import compute_path
    from screening.species import get_species
    from screening.store import ResultStore

    host = get_host("PVDF-HFP", units=4, hfp_units=0)
    ends = hop_endpoints(host, get_species("Li+").molecule(), "F", "F")
    method = get_method({"preset": "screening", "basis": args.basis})
    work = Path(tempfile.mkdtemp(prefix="screening-neb-"))
    spec = PathSpec("Li+ hop along PVDF", ends.initial, ends.final, images=args.images,
                    fixed=ends.fixed, max_steps=args.max_steps, mode=args.mode,
                    relax_endpoints=args.relax_endpoints, prerelax=True, mobile=ends.mobile)
    marks = [time.perf_counter()]

    def say(msg: str) -> None:
        if "step" not in msg or msg.endswith(" 1"):
            print(f"[{time.perf_counter() - marks[0]:7.1f} s] {msg}", flush=True)
        if "relaxed" in msg:
            marks.append(time.perf_counter())

    r = compute_path(spec, method, ResultStore(work / "r.db"), work / "band", progress=say)
    total = time.perf_counter() - marks[0]
    fwd = "–" if r.forward_eV is None else f"{r.forward_eV:.3f}"
    rev = "–" if r.reverse_eV is None else f"{r.reverse_eV:.3f}"
    print(f"{ends.initial.natoms} atoms ({len(ends.fixed)} fixed), hop {ends.anchors[0]} → "
          f"{ends.anchors[1]}, {args.images} images, mode {args.mode}, {method.label}, "
          f"{args.threads} threads")
    print(f"  status {r.status}{f' ({r.reason})' if r.reason else ''}; barrier forward {fwd} eV,"
          f" reverse {rev} eV [{r.method}]; max force {r.max_force_eV_A} eV/Å")
    print(f"  wall {total:.0f} s: endpoint relaxation {marks[-1] - marks[0]:.0f} s, band and "
          f"image energies {total - (marks[-1] - marks[0]):.0f} s; NEB steps {r.steps}, force "
          f"calls {r.force_calls} ({'GFN2-xTB' if args.mode == 'xtb-path' else method.label})")


if __name__ == "__main__":
    main()
