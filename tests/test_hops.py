"""Ion hops between two sites of a host: endpoints, merged minima, named path types, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from ase.units import Hartree

from screening import api
from screening.cli import main
from screening.hops import (ION_DISTANCE, MIN_CLEARANCE, PATH_TYPES, carve_hop,
                            choose_anchors, hop_endpoints, parse_anchor)
from screening.hosts import get_host
from screening.methods import get_method
from screening.species import get_species
from screening.geometry import bond_graph, read_xyz
from screening.store import ResultStore

from .conftest import LI_H2O, pyscf_reference, write_xyz_text

CHAIN = "{name: PVDF-HFP, units: 2, hfp_units: 0}"


def hop_campaign(folder, body: str, name: str = "hop") -> str:
    path = folder / f"{name}.yaml"
    path.write_text(f"""name: {name}
method: {{preset: screening, basis: sto-3g, dispersion: null}}
quantities:
  - {body}
""")
    return str(path)


def test_endpoints_put_the_ion_at_two_donors_in_the_same_atom_order():
    host = get_host("PVDF-HFP", units=4, hfp_units=0)
    li = get_species("Li+").molecule()
    ends = hop_endpoints(host, li, "F", "F", active_radius=4.0)
    n = host.molecule.natoms
    assert ends.initial.symbols == ends.final.symbols == tuple(host.molecule.symbols) + ("Li",)
    assert ends.mobile == (n,) and (ends.initial.charge, ends.initial.multiplicity) == (1, 1)
    pos = np.asarray(host.molecule.positions)
    for mol, anchor in zip((ends.initial, ends.final), ends.anchors):
        ion = np.asarray(mol.positions)[n]
        d = np.linalg.norm(pos - ion, axis=1)
        site, k = anchor.split(":")
        donor = host.site(site).points[int(k)]
        assert np.linalg.norm(ion - donor) == pytest.approx(ION_DISTANCE)
        assert np.sort(d)[1] >= MIN_CLEARANCE  # the donor is the only close contact
        assert np.allclose(np.asarray(mol.positions)[:n], pos)  # host untouched
    # the automatic pair: different, non-geminal donors, a 3–6.5 Å hop; far atoms are fixed
    i, j = choose_anchors(host, "F", "F")
    graph = bond_graph(host.molecule.symbols, pos)
    donors = [int(np.argmin(np.linalg.norm(pos - host.site("F").points[k], axis=1)))
              for k in (i, j)]
    assert donors[0] != donors[1] and not graph[donors[0]] & graph[donors[1]]
    hop = np.linalg.norm(np.subtract(ends.initial.positions[n], ends.final.positions[n]))
    assert 3.0 <= hop <= 6.5
    assert ends.fixed and all(i < n for i in ends.fixed)


@pytest.mark.slow
def test_every_named_path_type_validates(tmp_path, capsys):
    """Each seed path type gives two states of the same atoms, the ion 3–6.5 Å apart (interface
    paths: each within 4.5 Å of both silica and polymer)."""
    body = "\n  - ".join(f"{{name: {n}, kind: barrier, path_type: {n}}}" for n in PATH_TYPES)
    assert main(["validate", hop_campaign(tmp_path, body)]) == 0
    out = capsys.readouterr().out
    assert out.count("endpoints relaxed with GFN2-xTB + geomeTRIC") == len(PATH_TYPES)
    li = get_species("Li+").molecule()
    for name, t in PATH_TYPES.items():
        host = get_host(t.host, **t.host_options)
        (sa, ia), (sb, ib) = parse_anchor(t.from_site), parse_anchor(t.to_site)
        ends = hop_endpoints(host, li, sa, sb, ia, ib, interfacial=t.interfacial)
        n = host.molecule.natoms
        ions = np.asarray(ends.initial.positions)[n], np.asarray(ends.final.positions)[n]
        assert ends.initial.natoms == n + 1 and 3.0 <= np.linalg.norm(ions[0] - ions[1]) <= 6.5
        if t.interfacial:
            pos = np.asarray(host.molecule.positions)
            for lo, hi in host.info["components"].values():
                assert all(np.linalg.norm(pos[lo:hi + 1] - p, axis=1).min() <= 4.5 for p in ions)


@pytest.mark.slow
def test_hop_between_two_sites_dft_on_xtb_band(tmp_path):
    """Li⁺ from one CF₂ group of CH₃CF₂CH₂CF₂H to the other: endpoints pre-relaxed with
    GFN2-xTB, band converged with GFN2-xTB, images re-evaluated with DFT. The row is labelled;
    its endpoint energies are stored DFT energies of the relaxed states; forward − reverse =
    E(final) − E(initial); the ion's two relaxed places are distinct."""
    campaign = hop_campaign(tmp_path, f"{{name: Li+ hop, kind: barrier, host: {CHAIN}, "
                                      "from: 'F:1', to: 'F:2', images: 3, mode: xtb-path}")
    table = api.run_campaign(campaign, db=tmp_path / "r.db", store=tmp_path / "s.json",
                             output=tmp_path / "out", progress=False)
    row = table.iloc[0]
    assert row["method"] == "B3LYP/sto-3g (grid 1)//GFN2-xTB" and row["status"] == "converged"
    store = ResultStore(tmp_path / "r.db")
    record = store.get_path(store.paths().iloc[0]["path_key"])
    energies = record["energies_eV"]
    assert len(energies) == 5 and energies[0] == 0.0
    assert row["value_eV"] == pytest.approx(max(energies))
    assert row["value_eV"] - row["reverse_eV"] == pytest.approx(energies[-1], abs=1e-9)
    assert 0.0 < row["value_eV"] < 3.0 and 0 < record["climbing_image"] < 4
    workdir = next((tmp_path / "out" / "paths").iterdir())
    method = get_method({"preset": "screening", "basis": "sto-3g", "dispersion": None})
    ini, fin = (read_xyz(workdir / f"{e}_xtb.xyz", 1, 1) for e in ("initial", "final"))
    assert np.linalg.norm(np.subtract(ini.positions[-1], fin.positions[-1])) > 1.0
    # the endpoints' energies by PySCF called directly (independent of the engine)
    e_ini, e_fin = (pyscf_reference(m, "b3lyp", "sto-3g", grid_level=method.grid_level)[0]
                    for m in (ini, fin))
    assert energies[-1] == pytest.approx((e_fin - e_ini) * Hartree, abs=1e-6 * Hartree)
    assert store.get(ini, method).energy == pytest.approx(e_ini, abs=1e-6)
    assert (tmp_path / "out" / "path_Li__hop.png").is_file()


def test_endpoints_that_fall_into_one_minimum_fail_the_path_not_the_run(tmp_path, capsys):
    """Li⁺ 1.7 Å and 2.4 Å from a water's O on its C₂ axis relax to the same Li⁺·H₂O: the path
    is reported failed with the reason, the run exits 1, and the other row is computed."""
    for name, z in (("near", -1.7), ("far", -2.4)):
        write_xyz_text(tmp_path / f"{name}.xyz", LI_H2O[0], [[0, 0, z]] + LI_H2O[1][1:],
                       charge=1)
    (tmp_path / "merge.yaml").write_text("""name: merge
method: {preset: screening, basis: sto-3g, dispersion: null}
structures:
  near: {file: near.xyz, charge: 1}
  far: {file: far.xyz, charge: 1}
quantities:
  - {name: no hop, kind: barrier, initial: near, final: far, prerelax: true, mode: xtb-path}
  - {name: Li+ + water, kind: reaction, terms: [{structure: near, coefficient: 1},
     {structure: Li+, coefficient: -1}, {structure: water, coefficient: -1}]}
""")
    code = main(["run", str(tmp_path / "merge.yaml"), "--db", str(tmp_path / "r.db"),
                 "--store", str(tmp_path / "s.json"), "-o", str(tmp_path / "out")])
    captured = capsys.readouterr()
    out = captured.out
    assert code == 1, captured.err
    table = pd.read_csv(tmp_path / "out" / "quantities.csv")
    assert table.loc[0, "status"] == "failed" and "same minimum" in table.loc[0, "missing"]
    assert "same minimum" in out
    assert table.loc[1, "value_eV"] < -1.0  # Li⁺ binds water: that row is computed


@pytest.mark.parametrize("body,message", [
    ("{name: x, kind: barrier, path_type: chain}", "quantities[0].path_type: unknown path type "
     "'chain'"),
    (f"{{name: x, kind: barrier, host: {CHAIN}, from: imine_N, to: F}}",
     "quantities[0].from: host 'PVDF-HFP_2-0' has no site 'imine_N'"),
    (f"{{name: x, kind: barrier, host: {CHAIN}, from: exo, to: F}}",
     "quantities[0].from: site 'exo' of host PVDF-HFP_2-0 is a surface site"),
    (f"{{name: x, kind: barrier, host: {CHAIN}, from: F, to: 'F:99'}}",
     "quantities[0].to: site 'F' of host PVDF-HFP_2-0 has anchors 0..3, not 99"),
    (f"{{name: x, kind: barrier, host: {CHAIN}, from: 'F:2', to: 'F:2'}}",
     "quantities[0].to: host PVDF-HFP_2-0: the given anchors are the same donor atom"),
    (f"{{name: x, kind: barrier, host: {CHAIN}, to: F}}", "quantities[0].from: a hop needs from:"),
    (f"{{name: x, kind: barrier, host: {CHAIN}, from: F, to: F, initial: Li+}}",
     "give either initial:/final: or a hop"),
    ("{name: x, kind: binding, complex: Li+, from: F}", "from: belongs to kind: barrier"),
    (f"{{name: x, kind: barrier, host: {CHAIN}, from: F, to: F, active_radius: 5, carve: 4}}",
     "quantities[0].carve: carve: 4 Å is less than the active radius (5 Å)"),
    (f"{{name: x, kind: barrier, host: {CHAIN}, from: F, to: F, carve: 6, fixed: '0-3'}}",
     "quantities[0].fixed: fixed: and carve: together"),
    ("{name: x, kind: barrier, initial: Li+, final: Li+, carve: 6}",
     "quantities[0].carve: carve: belongs to a hop between two sites"),
    (f"{{name: x, kind: barrier, host: {CHAIN}, from: F, to: F, guest: PC}}",
     "guest PC has no mobile ion"),
])
def test_bad_hops_refused_before_anything_runs(tmp_path, capsys, body, message):
    campaign = hop_campaign(tmp_path, body)
    code = main(["run", campaign, "--db", str(tmp_path / "r.db"), "--store",
                 str(tmp_path / "s.json")])
    err = capsys.readouterr().err
    assert code == 2 and message in err and "hop.yaml:4:" in err, err
    assert not (tmp_path / "r.db").exists() and not (tmp_path / "s.json").exists()


def test_api_hop_returns_the_two_states_as_atoms():
    a, b = api.hop("PVDF-HFP", "F:1", "F:2", units=2, hfp_units=0)
    assert len(a) == len(b) == 15 and a.get_chemical_symbols() == b.get_chemical_symbols()
    assert (a.info["anchor"], b.info["anchor"], a.info["charge"]) == ("F:1", "F:2", 1)
    whole, _ = api.hop("PVDF-HFP", "F:8", "F:10", units=10, hfp_units=0, active_radius=4.0)
    cut, _ = api.hop("PVDF-HFP", "F:8", "F:10", units=10, hfp_units=0, active_radius=4.0,
                     carve=6.0)
    assert len(cut) < len(whole) and cut.info["charge"] == 1
    assert set(cut.info["fixed"]) < set(range(len(cut)))


def test_guest_that_clashes_at_an_anchor_is_refused(tmp_path, capsys):
    """Linear H₂O–Li⁺–OH₂: with its waters on both sides of the ion nothing points it away from
    the host, and at F:1 of the chain a water lands in the host. Refused, naming the anchor."""
    atoms = [("Li", 0, 0, 0), ("O", 0, 0, 1.9), ("H", 0, 0.76, 2.49), ("H", 0, -0.76, 2.49),
             ("O", 0, 0, -1.9), ("H", 0, 0.76, -2.49), ("H", 0, -0.76, -2.49)]
    write_xyz_text(tmp_path / "li_w2.xyz", [a[0] for a in atoms], [a[1:] for a in atoms],
                   charge=1)
    (tmp_path / "hop.yaml").write_text(f"""name: hop
method: screening
structures:
  Li(H2O)2+: {{file: li_w2.xyz, charge: 1}}
quantities:
  - {{name: x, kind: barrier, host: {CHAIN}, guest: Li(H2O)2+, from: 'F:1', to: 'F:2'}}
""")
    code = main(["run", str(tmp_path / "hop.yaml"), "--db", str(tmp_path / "r.db"), "--store",
                 str(tmp_path / "s.json")])
    err = capsys.readouterr().err
    assert code == 2 and "hop.yaml:6: quantities[0].from: guest Li(H2O)2+ clashes with host " \
        "PVDF-HFP_2-0 at anchor F:1" in err, err
    assert not (tmp_path / "r.db").exists() and not (tmp_path / "s.json").exists()


LONG_CHAIN = "{name: PVDF-HFP, units: 10, hfp_units: 0}"


def test_carved_hop_keeps_the_ion_surroundings_and_caps_each_cut_bond():
    """A hop carved at 6 Å: every atom within 6 Å of the ion at either end is kept, in order and
    in place; each cut bond gets one H on it (1.0–1.15 Å from its atom, no closer contact), held
    fixed with that atom; the free atoms are the whole hop's; charge and spin are unchanged."""
    host = get_host("PVDF-HFP", units=10, hfp_units=0)
    ends = hop_endpoints(host, get_species("Li+").molecule(), "F", "F", active_radius=4.0)
    cut = carve_hop(ends, 6.0, active_radius=4.0)
    n = cut.initial.natoms
    assert n < ends.initial.natoms
    assert (cut.initial.charge, cut.initial.multiplicity) == (1, 1)
    electrons = cut.initial.to_atoms().get_atomic_numbers().sum() - cut.initial.charge
    assert electrons % 2 == 0  # closed shell, as the whole hop
    for whole, part in ((ends.initial, cut.initial), (ends.final, cut.final)):
        wpos, ppos = np.asarray(whole.positions), np.asarray(part.positions)
        ion = wpos[ends.mobile[0]]
        near = np.flatnonzero(np.linalg.norm(wpos - ion, axis=1) <= 6.0)
        kept = [min(range(n), key=lambda k: np.linalg.norm(ppos[k] - wpos[a])) for a in near]
        assert np.allclose(ppos[kept], wpos[near])
        assert np.allclose(ppos[cut.mobile[0]], ion)
        originals = {tuple(np.round(p, 6)) for p in wpos}
        caps = [k for k in range(n) if tuple(np.round(ppos[k], 6)) not in originals]
        assert caps and all(part.symbols[k] == "H" for k in caps)
        for k in caps:
            d = np.linalg.norm(ppos - ppos[k], axis=1)
            d[k] = np.inf
            assert 1.0 <= d.min() <= 1.15 and np.sort(d)[1] > 1.6
            assert k in cut.fixed and int(np.argmin(d)) in cut.fixed
    free_whole = {tuple(np.round(ends.initial.positions[a], 6))
                  for a in range(ends.initial.natoms) if a not in ends.fixed}
    free_cut = {tuple(np.round(cut.initial.positions[a], 6))
                for a in range(n) if a not in cut.fixed}
    assert free_cut <= free_whole and len(free_whole - free_cut) <= 2  # only caps' partners


@pytest.mark.slow
def test_carved_hop_gives_the_whole_chains_energies(tmp_path):
    """On a 10-unit PVDF-HFP chain (63 atoms) at GFN2-xTB, the hop carved at 6 Å (48 atoms)
    has the whole chain's barrier and endpoint energy difference within 0.02 eV."""
    path = tmp_path / "carve.yaml"
    common = (f"kind: barrier, host: {LONG_CHAIN}, from: F, to: F, active_radius: 4.0, "
              "images: 3, fmax: 0.1")
    path.write_text(f"""name: carve
method: gfn2-xtb
quantities:
  - {{name: whole, {common}}}
  - {{name: carved, {common}, carve: 6.0}}
""")
    table = api.run_campaign(str(path), db=tmp_path / "r.db", store=tmp_path / "s.json",
                             output=tmp_path / "out", progress=False).set_index("quantity")
    assert (table["status"] == "converged").all(), table
    whole, carved = table.loc["whole"], table.loc["carved"]
    assert carved["value_eV"] == pytest.approx(whole["value_eV"], abs=0.02)
    assert (carved["value_eV"] - carved["reverse_eV"]) == pytest.approx(
        whole["value_eV"] - whole["reverse_eV"], abs=0.02)
