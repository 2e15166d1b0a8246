"""Do the named path types' default endpoints stay two minima? A GFN2-xTB check.

For each path type given (default: all), builds the hop's two states with
:func:`screening.hops.hop_endpoints`, relaxes both with GFN2-xTB (the path's fixed atoms held),
and runs :func:`screening.neb.check_distinct_minima`. Prints how far apart the relaxed ions are,
how far each moved from its start, ΔE(xTB) (eV, ranking only) and the wall time.

Usage: OMP_NUM_THREADS=1 .venv/bin/python benchmarks/path_types_xtb.py [TYPE ...]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def check(name: str) -> str:
    """One line: the type's anchors, relaxed ion separation, drift, ΔE(xTB), verdict."""
    from screening.engines.xtb import xtb_relaxed
    from screening.errors import InputError
    from screening.hops import PATH_TYPES, hop_endpoints, parse_anchor
    from screening.hosts import get_host
    from screening.neb import check_distinct_minima
    from screening.species import get_species

    t = PATH_TYPES[name]
    host = get_host(t.host, **t.host_options)
    (sa, ia), (sb, ib) = parse_anchor(t.from_site), parse_anchor(t.to_site)
    ends = hop_endpoints(host, get_species("Li+").molecule(), sa, sb, ia, ib,
                         interfacial=t.interfacial)
    t0 = time.perf_counter()
    (a, ea), (b, eb) = (xtb_relaxed(m, fixed=list(ends.fixed)) for m in (ends.initial, ends.final))
    n = host.molecule.natoms
    apart = np.linalg.norm(np.subtract(a.positions[n], b.positions[n]))
    drift = [np.linalg.norm(np.subtract(r.positions[n], s.positions[n]))
             for r, s in ((a, ends.initial), (b, ends.final))]
    try:
        check_distinct_minima(a, b, ends.mobile, ends.fixed)
        verdict = "distinct"
    except InputError as exc:
        verdict = f"MERGED: {exc}"
    return (f"{name}: {ends.anchors[0]} -> {ends.anchors[1]}, {ends.initial.natoms} atoms "
            f"({len(ends.fixed)} fixed): relaxed ions {apart:.2f} Å apart, moved "
            f"{drift[0]:.2f}/{drift[1]:.2f} Å from their starts, ΔE(xTB) {eb - ea:+.3f} eV, "
            f"{time.perf_counter() - t0:.0f} s: {verdict}")


def main() -> None:
    from screening.hops import PATH_TYPES

    for name in sys.argv[1:] or list(PATH_TYPES):
        print(check(name), flush=True)


if __name__ == "__main__":
    main()
