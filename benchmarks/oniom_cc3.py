"""ONIOM(B3LYP-D3(BJ)/def2-SVP : GFN2-xTB) for TFSI⁻ in CC3: region size and cost per radius.

    .venv/bin/python benchmarks/oniom_cc3.py [--radii 2.5 3 3.5 4]            # sizes only
    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/oniom_cc3.py --compute 3 [--db bench.db]

The pose is seed 000's best GFN2-xTB pose of TFSI⁻ in the CC3 cavity, read from the shipped
``results/seed000/calculations.json`` (183 atoms). For each radius: the atoms of the DFT model
region (TFSI⁻ and the cage atoms within the radius, grown over bonds that may not be cut), its
link atoms and its def2-SVP basis functions, beside the full complex's. With ``--compute R``,
the counterpoise-corrected binding energy with frozen fragments (five ONIOM energies) at radius
R: value (eV), wall time (s), peak memory of this process (GB).
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "2")
ROOT = Path(__file__).resolve().parent.parent
POSE = "TFSI- (GFN2-xTB)@CC3[endo#1]"


def shipped_pose():
    """The pose from the shipped seed 000 calculations (charge −1, singlet)."""
    from ase.db import connect

    from screening.geometry import Molecule

    db = connect(str(ROOT / "results/seed000/calculations.json"))
    row = next(r for r in db.select() if r.key_value_pairs.get("name") == POSE)
    return Molecule.from_atoms(row.toatoms(), -1, 1, name=POSE)


def nao(mol) -> int:
    """def2-SVP basis functions of ``mol`` (ghost atoms included)."""
    from pyscf import gto

    atoms = [(("X-" if i in mol.ghosts else "") + s, p)
             for i, (s, p) in enumerate(zip(mol.symbols, mol.positions))]
    return gto.M(atom=atoms, basis="def2-svp", charge=mol.charge, spin=mol.multiplicity - 1,
                 verbose=0).nao


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--radii", type=float, nargs="+", default=[2.5, 3.0, 3.5, 4.0])
    ap.add_argument("--compute", type=float, help="compute the binding energy at this radius")
    ap.add_argument("--db", default="benchmarks/oniom.db")
    args = ap.parse_args()
    from screening.engines.oniom import layers
    from screening.errors import InputError
    from screening.methods import get_method
    from screening.quantities import Binding, Fragment, evaluate, with_oniom_regions

    mol = shipped_pose()
    q = Binding("TFSI- in CC3", mol, (Fragment("CC3", tuple(range(168)), 0, 1),
                                      Fragment("TFSI-", tuple(range(168, 183)), -1, 1)),
                counterpoise=True)
    print(f"full complex: {mol.natoms} atoms, {nao(mol)} basis functions (def2-SVP)")
    print(f"{'radius Å':>8s} {'model atoms':>11s} {'links':>5s} {'basis functions':>15s}")
    for r in args.radii:
        try:
            qq = with_oniom_regions(q, get_method({"preset": "screening", "oniom": {"radius": r}}))
        except InputError as exc:  # a region of TFSI- alone: no ONIOM binding energy to give
            print(f"{r:8g} refused: {exc.message}")
            continue
        lay = layers(qq.complex)
        print(f"{r:8g} {len(qq.complex.model):11d} {len(lay.links):5d} {nao(lay.model):15d}")
    if args.compute is None:
        return
    from screening.store import ResultStore

    method = get_method({"preset": "screening", "oniom": {"radius": args.compute}})
    qq = with_oniom_regions(q, method)
    store = ResultStore(args.db)
    energies, wall, t0 = {}, 0.0, time.perf_counter()
    for m in qq.molecules():
        rec, computed = store.energy_of(m, method)
        wall += float(rec.data["result"]["wall_s"])
        energies[rec.calc_key] = rec.energy
        print(f"  {m.name}: {rec.energy:.8f} Eh ({'computed' if computed else 'stored'}, "
              f"{rec.data['result']['wall_s']:.0f} s)", flush=True)
    value = evaluate(qq, method, energies)["value_eV"]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    print(f"{method.label}: {value:.4f} eV; single points {wall:.0f} s "
          f"(this run {time.perf_counter() - t0:.0f} s), peak memory {peak:.1f} GB")


if __name__ == "__main__":
    main()
