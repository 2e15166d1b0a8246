"""SCF starts from stored densities (screening.engines.densities) against PySCF's minao start,
on the single points of one campaign quantity, in one run.

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/scf_guess.py
        [--campaign workflows/seed002_mofs.yaml --tier dft
         --quantity "Li+ to TFSI- + PC in bulk"] [--db results/screening.db]

The quantity's single points (a searched quantity: those of its best stored pose, so ``--db``
must hold its search) are computed twice in the order the pipeline takes them (structures
without ghost atoms first, the largest first in each group), each time in a fresh empty cache:
once with the density store off (every SCF from minao), once with it on (each SCF from the
densities the earlier ones left). Nothing is
written to ``--db``. Prints, per single point and mode: SCF cycles, wall time (s), what the
guess covered, and the energy difference between the modes (Eh); then the totals and the
ratio of wall times.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

os.environ.setdefault("OMP_NUM_THREADS", "2")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def quantity_molecules(path: str, tier: str, name: str, db: str):
    """The single-point molecules of quantity ``name`` of the campaign at ``path`` at
    ``tier`` (its best stored pose for a searched one) in the pipeline's order, and the tier's
    method."""
    from screening.campaign import load_campaign
    from screening.pipeline.tasks import energy_priority
    from screening.store import ResultStore

    from oniom import leveled

    campaign = load_campaign(path, tier=tier).only([name])
    q = leveled(campaign.quantities[0], campaign.method, ResultStore(db))
    return sorted(q.molecules(), key=lambda m: -energy_priority(m.natoms, bool(m.ghosts))), \
        campaign.method


def run_all(molecules, method, cache: str, store_on: bool) -> list[tuple[float, int, float, str]]:
    """(energy Eh, SCF cycles, wall s, guess) per molecule, in a fresh cache."""
    from screening.engines import densities
    from screening.engines.pyscf import compute
    from screening.settings import Settings

    settings = Settings(cache_dir=cache, device="cpu",
                        threads=int(os.environ["OMP_NUM_THREADS"]))
    saved = densities.MIN_NAO
    densities.MIN_NAO = saved if store_on else 10**9
    out = []
    try:
        for m in molecules:
            t = time.perf_counter()
            r = compute(m, method, settings=settings)
            guess = "minao" if r.scf_guess is None else ", ".join(
                f"{d['atoms']} atoms" for d in r.scf_guess["densities"]) + \
                f" of {r.scf_guess['real_atoms']}"
            out.append((r.energy, r.scf_cycles, time.perf_counter() - t, guess))
            print(f"  {'store' if store_on else 'minao'}: {m.name} ({m.natoms} atoms, "
                  f"{r.nao} functions): {r.scf_cycles} cycles, {out[-1][2]:.0f} s, "
                  f"start: {guess}", flush=True)
    finally:
        densities.MIN_NAO = saved
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    defaults = {"campaign": "workflows/seed002_mofs.yaml", "tier": "dft",
                "quantity": "Li+ to TFSI- + PC in bulk", "db": "results/screening.db"}
    for name, default in defaults.items():
        ap.add_argument(f"--{name}", default=default)
    args = ap.parse_args()
    molecules, method = quantity_molecules(args.campaign, args.tier, args.quantity, args.db)
    print(f"{args.quantity!r} at {method.label}: {len(molecules)} single points, "
          f"{os.environ['OMP_NUM_THREADS']} threads", flush=True)
    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        minao = run_all(molecules, method, a, store_on=False)
        store = run_all(molecules, method, b, store_on=True)
    print(f"\n{'single point':58s} {'atoms':>5s} {'cycles':>13s} {'wall s':>15s} "
          f"{'ΔE (Eh)':>9s}  start (store)")
    for m, x, y in zip(molecules, minao, store):
        print(f"{m.name[:58]:58s} {m.natoms:5d} {x[1]:6d} → {y[1]:4d} {x[2]:7.0f} → {y[2]:5.0f} "
              f"{y[0] - x[0]:9.1e}  {y[3]}")
    t_minao, t_store = sum(x[2] for x in minao), sum(y[2] for y in store)
    print(f"total: {sum(x[1] for x in minao)} → {sum(y[1] for y in store)} cycles, "
          f"{t_minao:.0f} → {t_store:.0f} s (store/minao {t_store / t_minao:.2f})")


if __name__ == "__main__":
    main()
