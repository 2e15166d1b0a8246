"""What the DFT quadrature grid does to the quickstart quantities, and what it costs.

    .venv/bin/python benchmarks/grid_levels.py [--levels 1 2 3] [--workers 2] [--work DIR]

Runs ``workflows/quickstart.yaml`` with ``method: {preset: screening, grid_level: N}`` for each
level, each into its own database under ``--work`` (kept, so an interrupted run resumes and a
finished level costs nothing the second time). Prints, per level: every quantity (eV), its
difference from the finest level asked for, the largest difference, and the summed wall time of
its single points (s, as stored with each record) with the ratio to the finest level. A level
qualifies for the screening preset when every quantity is within 0.005 eV of grid level 3.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
TOLERANCE_EV = 0.005


def run_level(level: int, work: Path, workers: int) -> tuple[pd.Series, float]:
    """Quantity values (eV, indexed by name) and summed single-point wall time (s) at ``level``."""
    from screening.store import ResultStore

    text = (ROOT / "workflows/quickstart.yaml").read_text()
    campaign = work / f"quickstart_grid{level}.yaml"
    campaign.write_text(text.replace("method: screening",
                                     f"method: {{preset: screening, grid_level: {level}}}", 1)
                        .replace("name: quickstart", f"name: quickstart_grid{level}", 1)
                        .replace("file: ../", f"file: {ROOT}/"))  # the copy lives elsewhere
    db = work / f"grid{level}.db"
    proc = subprocess.run([sys.executable, "-m", "screening.cli", "run", str(campaign),
                           "--workers", str(workers), "--db", str(db),
                           "--store", str(work / f"grid{level}_store.json"),
                           "--output", str(work / f"grid{level}"), "-q"],
                          capture_output=True, text=True, cwd=work)
    if proc.returncode != 0:
        sys.exit(f"grid level {level}: screening run failed\n{proc.stderr[-3000:]}")
    table = pd.read_csv(next((work / f"grid{level}").rglob("quantities.csv")))
    wall = float(ResultStore(str(db)).dataframe()["wall_s"].fillna(0).sum())
    return table.set_index("quantity")["value_eV"], wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--levels", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--work", default="benchmarks/grid_levels_work")
    args = ap.parse_args()
    work = Path(args.work).resolve()
    work.mkdir(parents=True, exist_ok=True)
    levels = sorted(set(args.levels))
    results = {}
    for level in reversed(levels):  # the finest first: the reference
        results[level] = run_level(level, work, args.workers)
        print(f"grid level {level}: done, single points {results[level][1]:.0f} s", flush=True)
    ref_values, ref_wall = results[levels[-1]]
    table = pd.DataFrame({f"grid {lv}": results[lv][0] for lv in levels})
    for lv in levels[:-1]:
        table[f"grid {lv} − grid {levels[-1]}"] = table[f"grid {lv}"] - ref_values
    pd.set_option("display.width", 200)
    print(table.round(4).to_string())
    for lv in levels:
        values, wall = results[lv]
        worst = float((values - ref_values).abs().max())
        verdict = "" if lv == levels[-1] else (
            f"; every quantity within {TOLERANCE_EV} eV: {worst <= TOLERANCE_EV}")
        print(f"grid level {lv}: largest difference {worst:.4f} eV, single points {wall:.0f} s "
              f"({wall / ref_wall:.2f} of grid level {levels[-1]}){verdict}")


if __name__ == "__main__":
    main()
