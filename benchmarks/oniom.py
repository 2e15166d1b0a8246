"""ONIOM(B3LYP-D3(BJ)/def2-SVP : GFN2-xTB) against full DFT on one binding energy, per radius.

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/oniom.py [--system li-pvdf] [--radii 3 4 5]
                                                           [--db bench.db] [--preset NAME]
                                                           [--sizes-only]
    .venv/bin/python benchmarks/oniom.py --campaign WF --tier T --quantity NAME --radii 3.5 4.5
                                         [--db results/screening.db] [--sizes-only]
                                         [--silanol]

The systems: ``li-pvdf``, Li⁺ on the H-capped PVDF-HFP 4-0 oligomer (26 atoms) at its middle F,
the complex relaxed with GFN2-xTB; ``li-pdoa``, Li⁺ on the P(DOA) dimer (42 atoms) at its
carbonyl O, the best of 4 GFN2-xTB-relaxed poses (the pose of seed 004's "Li+ on P(DOA)", so
with ``--db results/screening.db`` the full-DFT single points are the campaign's);
``tfsi-pvdf``, the anion: TFSI⁻ on the same PVDF-HFP 4-0 oligomer (41 atoms), the best of 4
GFN2-xTB-relaxed poses at the chain's exo (CH2/CF2 surface) site; ``tfsi-paddlewheel`` and
``pc-paddlewheel``, an open metal site: TFSI⁻ or PC at a Cu of the HKUST-1 paddlewheel
(58 atoms, Cu(II)₂ triplet, frozen), the best of 4 poses. The level is ``--preset``
(default ``screening-grid3``, the level of the seed campaigns' DFT rows). The binding energy is
counterpoise-corrected with frozen fragments (five single points), in full DFT and with ONIOM at
each radius. Energies are
stored in ``--db`` (default benchmarks/oniom.db), so an interrupted run resumes; the times are
those of the calculations this run made (a stored one shows its first run). Prints one
line per level: value (eV), error against full DFT (eV), DFT atoms in the model, CPU time
(core-seconds: each single point's wall time × its threads, so runs at different thread counts
compare; a single point resumed over several sittings counts them all, at its last sitting's
threads) and the speed-up in CPU time.

With ``--campaign``, the quantity is one of a campaign's, at one of its ONIOM tiers (``--tier``),
on the structures the campaign searched (so ``--db`` must be the database that holds its poses,
usually ``results/screening.db``): a binding or a salt's dissociation on a host. Full DFT is the
tier's level without its layering, so its single points are those of the campaign's full-DFT tier
at the same level. ``--sizes-only`` prints each radius's region (atoms, link atoms) and computes
no single point (a built-in system's pose is still placed). ``--silanol``: a Si in the region
keeps all its O, so each cut Si–O bond has its O inside and its cap makes a silanol
(``oniom: {silanol: true}``).
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "2")


def complex_structure():
    """Li⁺ 2.0 Å out from the middle F of PVDF-HFP 4-0, relaxed with GFN2-xTB (one thread)."""
    import numpy as np

    from screening.engines.xtb import xtb_relaxed
    from screening.geometry import Molecule
    from screening.hosts import get_host

    host = get_host("PVDF-HFP", units=4, hfp_units=0)
    site = host.site("F")
    k = len(site.points) // 2
    li = np.asarray(site.points[k]) + 2.0 * np.asarray(site.normals[k])
    mol = Molecule.from_arrays([*host.molecule.symbols, "Li"],
                               [*host.molecule.positions, li], 1, 1, name="Li+ PVDF-HFP 4-0")
    relaxed, _ = xtb_relaxed(mol, deterministic=True)
    return Molecule(relaxed.symbols, relaxed.positions, 1, 1, name=mol.name)


def placed(host_name: str, units: int | None, guest: str, site: str, **host_options):
    """The best of 4 GFN2-xTB-relaxed poses of ``guest`` at ``site`` of the host (seed 7)."""
    from screening.hosts import get_host
    from screening.placement import place
    from screening.species import get_species

    host = get_host(host_name, **({"units": units} if units else {}), **host_options)
    pose, = place(host, get_species(guest).molecule(), [site], n_poses=4, keep=1, seed=7)
    return pose.molecule


def pdoa_complex():
    """Li⁺ on the P(DOA) dimer at its carbonyl O, as placed by seed 004's "Li+ on P(DOA)"."""
    return placed("P(DOA)", 2, "Li+", "carbonyl_O")


def tfsi_pvdf_complex():
    """TFSI⁻ at the exo site of PVDF-HFP 4-0."""
    return placed("PVDF-HFP", 4, "TFSI-", "exo", hfp_units=0)


def tfsi_paddlewheel_complex():
    """TFSI⁻ at a Cu open metal site of the HKUST-1 paddlewheel (58 atoms, Cu(II)₂ triplet),
    the host frozen as in seed 002."""
    return placed("HKUST-1", None, "TFSI-", "open_metal", cluster="paddlewheel")


def pc_paddlewheel_complex():
    """PC at a Cu open metal site of the HKUST-1 paddlewheel, the host frozen."""
    return placed("HKUST-1", None, "PC", "open_metal", cluster="paddlewheel")


#: name: (builder, host label, guest label, guest atoms (the last ones), guest charge). The
#: guests are closed-shell: the host fragment takes the complex's multiplicity.
SYSTEMS = {"li-pvdf": (complex_structure, "PVDF-HFP 4-0", "Li+", 1, 1),
           "li-pdoa": (pdoa_complex, "P(DOA)_2", "Li+", 1, 1),
           "tfsi-pvdf": (tfsi_pvdf_complex, "PVDF-HFP 4-0", "TFSI-", 15, -1),
           "tfsi-paddlewheel": (tfsi_paddlewheel_complex, "HKUST-1 paddlewheel", "TFSI-", 15, -1),
           "pc-paddlewheel": (pc_paddlewheel_complex, "HKUST-1 paddlewheel", "PC", 13, 0)}


def campaign_quantity(path: str, tier: str, name: str):
    """The quantity ``name`` of the campaign at ``path`` and the ``tier``'s method (ONIOM)."""
    from screening.campaign import load_campaign

    campaign = load_campaign(path, tier=tier).only([name])
    if campaign.method.oniom_radius is None:
        raise SystemExit(f"tier {tier!r} of {path} is not an ONIOM tier ({campaign.method.label})")
    return campaign.quantities[0], campaign.method


def leveled(q, method, store):
    """``q`` ready to evaluate at ``method``: a searched quantity becomes its first row on the
    stored poses (the best pose), which carries the method's ONIOM region already."""
    from screening.quantities import with_oniom_regions

    if not q.placements:
        return with_oniom_regions(q, method)
    row = q.expand(store.get_poses, method)[0]
    if not row.molecules():
        raise SystemExit(f"{q.name!r}: not searched yet in this database")
    return row


def evaluate_levels(q, levels, store) -> list[tuple[str, float, int, float]]:
    """(label, value eV, DFT atoms of the first structure's region, summed core-s) per level."""
    from screening.quantities import evaluate
    from screening.specs import in_layers

    rows = []
    for label, method in levels:
        qq = leveled(q, method, store)
        core_s, energies = 0.0, {}
        for m in qq.molecules():
            t = time.perf_counter()
            rec, computed = store.energy_of(m, method)
            result = rec.data["result"]
            earlier = float((result.get("scf_restart") or {}).get("earlier_wall_s", 0.0))
            core_s += (float(result["wall_s"]) + earlier) * int(result.get("threads") or 1)
            energies[rec.calc_key] = rec.energy
            print(f"  {label}: {m.name}: {rec.energy:.8f} Eh "
                  f"({'computed' if computed else 'stored'}, {time.perf_counter() - t:.0f} s)",
                  flush=True)
        value = evaluate(qq, method, energies)["value_eV"]
        first = qq.molecules()[0]
        rows.append((label, value, len(first.model) if in_layers(first, method) else first.natoms,
                     core_s))
    return rows


def print_sizes(q, radii, method, store) -> None:
    """The region of each radius: DFT atoms and link atoms of the first structure."""
    from dataclasses import replace

    from screening.engines.oniom import layers

    from screening.errors import InputError

    for r in radii:
        try:
            first = leveled(q, replace(method, oniom_radius=r), store).molecules()[0]
        except InputError as exc:  # a radius that takes in no host atom
            print(f"{r:5g} Å: refused ({exc})")
            continue
        print(f"{r:5g} Å: {len(first.model)} of {first.natoms} atoms at DFT, "
              f"{len(layers(first).links)} link atoms")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--campaign", help="a campaign file; with --tier and --quantity")
    ap.add_argument("--tier", help="the campaign's ONIOM tier")
    ap.add_argument("--quantity", help="the campaign quantity to measure")
    ap.add_argument("--sizes-only", action="store_true")
    ap.add_argument("--silanol", action="store_true",
                    help="with --campaign: a Si in the region keeps its O (silanol caps)")
    ap.add_argument("--radii", type=float, nargs="+", default=[3.0, 4.0, 5.0])
    ap.add_argument("--db", default="benchmarks/oniom.db")
    ap.add_argument("--skip-full", action="store_true")
    ap.add_argument("--system", choices=sorted(SYSTEMS), default="li-pvdf")
    ap.add_argument("--preset", default="screening-grid3",
                    help="the DFT level (a preset name; default the seed campaigns' DFT level)")
    args = ap.parse_args()
    if args.campaign and not (args.tier and args.quantity):
        ap.error("--campaign needs --tier (its ONIOM tier) and --quantity")
    if args.silanol and not args.campaign:
        ap.error("--silanol needs --campaign")
    from dataclasses import replace

    from screening.methods import get_method
    from screening.quantities import Binding, Fragment
    from screening.store import ResultStore

    store = ResultStore(args.db)
    if args.campaign:
        q, oniom = campaign_quantity(args.campaign, args.tier, args.quantity)
        oniom = replace(oniom, oniom_silanol=oniom.oniom_silanol or args.silanol)
        full_level = oniom.high_level
        oniom_at = [replace(oniom, oniom_radius=r) for r in args.radii]
    else:
        build, host_name, guest_name, n_guest, guest_charge = SYSTEMS[args.system]
        mol = build()
        n = mol.natoms
        host_atoms, guest_atoms = tuple(range(n - n_guest)), tuple(range(n - n_guest, n))
        q = Binding(f"{guest_name} on {host_name}", mol,
                    (Fragment(host_name, host_atoms, mol.charge - guest_charge,
                              mol.multiplicity),
                     Fragment(guest_name, guest_atoms, guest_charge, 1)), counterpoise=True)
        full_level = get_method(args.preset)
        oniom_at = [get_method({"preset": args.preset, "oniom": {"radius": r}})
                    for r in args.radii]
    if args.sizes_only:
        print_sizes(q, args.radii, oniom_at[0], store)
        return
    levels = [] if args.skip_full else [("full DFT", full_level)]
    levels += [(f"ONIOM {m.oniom_radius:g} Å{' Si-OH' if m.oniom_silanol else ''}", m)
               for m in oniom_at]
    rows = evaluate_levels(q, levels, store)
    full = rows[0][1] if not args.skip_full else None
    print(f"\n{'level':<18s} {'value eV':>9s} {'error eV':>9s} {'DFT atoms':>9s} {'core s':>8s} "
          f"{'speed-up':>8s}")
    for label, value, region, core_s in rows:
        err = f"{value - full:+9.4f}" if full is not None else f"{'-':>9s}"
        speed = f"{rows[0][3] / core_s:8.1f}" if full is not None else f"{'-':>8s}"
        print(f"{label:<18s} {value:9.4f} {err} {region:9d} {core_s:8.0f} {speed}")


if __name__ == "__main__":
    main()
