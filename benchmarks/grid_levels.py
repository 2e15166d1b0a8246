"""What the DFT quadrature grid does to the quickstart quantities, and what it costs.

    .venv/bin/python benchmarks/grid_levels.py [--levels 1 2 3] [--workers 2] [--work DIR]
                                               [--barriers]

Runs ``workflows/quickstart.yaml`` with ``method: {preset: screening, grid_level: N}`` for each
level, each into its own database under ``--work`` (kept, so an interrupted run resumes and a
finished level costs nothing the second time). ``--barriers`` adds two barriers at each level
(the quickstart has none): NH3 inversion (CI-NEB at DFT, endpoints relaxed at that level) and a
Li+ hop between the two CF2 groups of CH3CF2CH2CF2H (DFT single points on the GFN2-xTB band).
Prints, per level: every quantity (eV), its difference from the finest level asked for, the
largest difference, and the summed wall time of its single points (s, as stored with each
record) with the ratio to the finest level. A level
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


NH3_UP = [("N", 0, 0, 0.12), ("H", 0.94, 0, -0.27), ("H", -0.47, 0.814, -0.27),
          ("H", -0.47, -0.814, -0.27)]
BARRIERS = """name: grid_barriers
method: screening
structures:
  NH3_up: {file: nh3_up.xyz}
  NH3_down: {file: nh3_down.xyz}
quantities:
  - {name: NH3 inversion, kind: barrier, initial: NH3_up, final: NH3_down, images: 3,
     relax_endpoints: true}
  - {name: Li+ hop between CF2 groups, kind: barrier, host: {name: PVDF-HFP, units: 2,
     hfp_units: 0}, from: 'F:1', to: 'F:2', images: 5, mode: xtb-path}
"""


def write_nh3(work: Path) -> None:
    """Pyramidal NH3 and its mirror image (unrelaxed; the barrier campaign relaxes both)."""
    from screening.geometry import Molecule, write_xyz

    for name, sign in (("nh3_up", 1), ("nh3_down", -1)):
        write_xyz(Molecule.from_arrays([a[0] for a in NH3_UP],
                                       [(x, y, sign * z) for _, x, y, z in NH3_UP]),
                  work / f"{name}.xyz")


def run_level(text: str, name: str, level: int, work: Path,
              workers: int) -> tuple[pd.Series, float]:
    """Quantity values (eV, indexed by name) and summed single-point wall time (s) of campaign
    ``text`` run at grid ``level``."""
    from screening.store import ResultStore

    campaign = work / f"{name}_grid{level}.yaml"
    campaign.write_text(text.replace("method: screening",
                                     f"method: {{preset: screening, grid_level: {level}}}", 1)
                        .replace(f"name: {name}", f"name: {name}_grid{level}", 1)
                        .replace("file: ../", f"file: {ROOT}/"))  # the copy lives elsewhere
    tag = f"{name}_grid{level}"
    db = work / f"{tag}.db"
    proc = subprocess.run([sys.executable, "-m", "screening.cli", "run", str(campaign),
                           "--workers", str(workers), "--db", str(db),
                           "--store", str(work / f"{tag}_store.json"),
                           "--output", str(work / tag), "-q"],
                          capture_output=True, text=True, cwd=work)
    if proc.returncode != 0:
        sys.exit(f"{name} at grid level {level}: screening run failed\n{proc.stderr[-3000:]}")
    table = pd.read_csv(next((work / tag).rglob("quantities.csv")))
    wall = float(ResultStore(str(db)).dataframe()["wall_s"].fillna(0).sum())
    return table.set_index("quantity")["value_eV"], wall


def compare(name: str, results: dict[int, tuple[pd.Series, float]]) -> None:
    """Print each level's values, their shift from the finest level and the time ratio."""
    levels = sorted(results)
    ref_values, ref_wall = results[levels[-1]]
    table = pd.DataFrame({f"grid {lv}": results[lv][0] for lv in levels})
    for lv in levels[:-1]:
        table[f"grid {lv} − grid {levels[-1]}"] = table[f"grid {lv}"] - ref_values
    pd.set_option("display.width", 200)
    print(f"\n{name}\n" + table.round(4).to_string())
    for lv in levels:
        values, wall = results[lv]
        worst = float((values - ref_values).abs().max())
        verdict = "" if lv == levels[-1] else (
            f"; every quantity within {TOLERANCE_EV} eV: {worst <= TOLERANCE_EV}")
        print(f"grid level {lv}: largest difference {worst:.4f} eV, single points {wall:.0f} s "
              f"({wall / ref_wall:.2f} of grid level {levels[-1]}){verdict}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--levels", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--work", default="benchmarks/grid_levels_work")
    ap.add_argument("--barriers", action="store_true",
                    help="also two barriers (NH3 inversion, a Li+ hop) at each level")
    args = ap.parse_args()
    work = Path(args.work).resolve()
    work.mkdir(parents=True, exist_ok=True)
    levels = sorted(set(args.levels))
    campaigns = {"quickstart": (ROOT / "workflows/quickstart.yaml").read_text()}
    if args.barriers:
        write_nh3(work)
        campaigns["grid_barriers"] = BARRIERS
    for name, text in campaigns.items():
        results = {}
        for level in reversed(levels):  # the finest first: the reference
            results[level] = run_level(text, name, level, work, args.workers)
            print(f"{name}, grid level {level}: done, single points {results[level][1]:.0f} s",
                  flush=True)
        compare(name, results)


if __name__ == "__main__":
    main()
