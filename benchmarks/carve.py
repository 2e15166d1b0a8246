"""Carved hops against the whole host: the Li+ hop between two imine N of one CC3 cage.

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/carve.py [--radii 6 8] [--work DIR] [--between]

Runs the ``cc3-imine`` hop (169 atoms, GFN2-xTB band, 3 images, fmax 0.1 eV/Å, as in
``workflows/seed000_cc3.yaml``) on the whole cage and carved at each radius (``carve:`` in Å),
one campaign per row into one database under ``--work`` (kept: a finished row costs nothing the
second time, and its time is then shown as stored). ``--between`` adds the hop between
neighbouring cages (``cc3-cage-to-cage``, 337 atoms) carved at the first radius; the whole pair
is not run (hours of GFN2-xTB on 2 cores). Prints per row: atoms, barrier and reverse barrier
(eV), the difference from the whole cage, and the wall time (s) with its ratio to the whole.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd

HOP = "kind: barrier, mode: xtb-path, images: 3, fmax: 0.1"


def run_row(work: Path, name: str, path_type: str, carve: float | None) -> dict:
    """One hop as its own campaign: its table row, atom count and wall time (s)."""
    from screening import api
    from screening.campaign import load_campaign

    extra = f", carve: {carve:g}" if carve else ""
    path = work / f"{''.join(c if c.isalnum() else '_' for c in name)}.yaml"
    path.write_text(f"name: carve_bench\nmethod: gfn2-xtb\nquantities:\n"
                    f"  - {{name: '{name}', path_type: {path_type}, {HOP}{extra}}}\n")
    atoms = load_campaign(path, check_only=True).quantities[0].path.initial.natoms
    start = time.perf_counter()
    table = api.run_campaign(str(path), db=work / "carve.db", store=work / "store.json",
                             output=work / "out", progress=False)
    row = table.iloc[0]
    return {"hop": name, "atoms": atoms, "barrier_eV": row["value_eV"],
            "reverse_eV": row["reverse_eV"], "status": row["status"],
            "wall_s": time.perf_counter() - start}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--radii", type=float, nargs="+", default=[6.0, 8.0])
    ap.add_argument("--work", type=Path, default=Path("/tmp/carve_bench"))
    ap.add_argument("--between", action="store_true")
    a = ap.parse_args()
    a.work.mkdir(parents=True, exist_ok=True)
    rows = [run_row(a.work, "within, whole cage", "cc3-imine", None)]
    rows += [run_row(a.work, f"within, carved {r:g} A", "cc3-imine", r)
             for r in a.radii]
    if a.between:
        rows.append(run_row(a.work, f"between cages, carved {a.radii[0]:g} A",
                            "cc3-cage-to-cage", a.radii[0]))
    table = pd.DataFrame(rows)
    whole = table.iloc[0]
    table["minus_whole_eV"] = table["barrier_eV"] - whole["barrier_eV"]
    table["time_ratio"] = table["wall_s"] / whole["wall_s"]
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))


if __name__ == "__main__":
    main()
