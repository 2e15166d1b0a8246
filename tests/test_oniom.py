"""ONIOM(DFT:GFN2-xTB): real PySCF and tblite on small molecules."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from ase.units import Bohr

from screening.engines.oniom import compute_oniom, layers, link_ratio, model_region
from screening.engines.pyscf import compute
from screening.errors import InputError
from screening.geometry import Molecule
from screening.methods import Method, get_method
from screening.quantities import Binding, Fragment, with_oniom_regions

HF = Method("hf", "sto-3g", None, False)


def li_butanol() -> Molecule:
    """Li⁺ 1.9 Å from the O of 1-butanol (RDKit + MMFF geometry, seed 7); Li⁺ is the last atom."""
    from rdkit import Chem
    from rdkit.Chem import AllChem

    m = Chem.AddHs(Chem.MolFromSmiles("CCCCO"))
    AllChem.EmbedMolecule(m, randomSeed=7)
    AllChem.MMFFOptimizeMolecule(m)
    pos = m.GetConformer().GetPositions()
    sym = [a.GetSymbol() for a in m.GetAtoms()]
    li = pos[sym.index("O")] + np.array([0.0, 0.0, 1.9])
    return Molecule.from_arrays(sym + ["Li"], np.vstack([pos, li]), 1, 1, name="Li+ butanol")


def test_whole_system_as_model_is_plain_dft():
    mol = li_butanol()
    whole = replace(mol, model=frozenset(range(mol.natoms)))
    e = compute_oniom(whole, replace(HF, oniom_radius=3.0)).energy
    assert e == pytest.approx(compute(mol, HF).energy, abs=1e-8)


def test_link_atom_on_the_cut_bond_at_the_covalent_ratio():
    mol = li_butanol()
    region = model_region(mol, [mol.natoms - 1], 2.5)
    lay = layers(replace(mol, model=region))
    assert len(lay.links) == 1
    (i, j, g) = lay.links[0]
    assert {mol.symbols[i], mol.symbols[j]} == {"O", "C"} and i in region and j not in region
    assert g == pytest.approx(link_ratio("O", "C")) == pytest.approx((0.66 + 0.31) / (0.66 + 0.76))
    link = np.asarray(lay.model.positions)[-1]
    pi, pj = np.asarray(mol.positions)[[i, j]]
    assert np.allclose(link, pi + g * (pj - pi))
    assert np.linalg.norm(link - pi) == pytest.approx(g * np.linalg.norm(pj - pi))
    assert lay.model.symbols[-1] == "H" and lay.model.charge == 1
    # the region took the O's own H along (monovalent atoms follow their heavy atom)
    assert {mol.symbols[k] for k in region} == {"O", "H", "Li"}


def test_oniom_gradient_matches_finite_differences():
    mol = li_butanol()
    method = replace(HF, oniom_radius=2.5)
    mol = replace(mol, model=model_region(mol, [mol.natoms - 1], 2.5))
    (i, j, _), = layers(mol).links
    g = np.asarray(compute_oniom(mol, method, gradient=True).gradient)
    pos = np.asarray(mol.positions)
    for atom in (i, j, 0, mol.natoms - 1):  # both ends of the cut bond, a low atom, the ion
        es = []
        for step in (1e-3, -1e-3):
            moved = pos.copy()
            moved[atom, 2] += step
            es.append(compute_oniom(replace(mol, positions=tuple(map(tuple, moved))),
                                    method).energy)
        fd = (es[0] - es[1]) / 2e-3 * Bohr  # Eh/Å → Eh/Bohr
        assert g[atom, 2] == pytest.approx(fd, abs=2e-5), atom


def test_counterpoise_partners_carry_the_same_region():
    mol = li_butanol()
    n = mol.natoms
    q = Binding("Li+ on butanol", mol, (Fragment("butanol", tuple(range(n - 1)), 0, 1),
                                        Fragment("Li+", (n - 1,), 1, 1)), counterpoise=True)
    method = get_method({"preset": "screening", "oniom": {"radius": 2.5}})
    q = with_oniom_regions(q, method)
    region_points = {tuple(mol.positions[k]) for k in q.complex.model}
    molecules = q.molecules()
    assert len(molecules) == 5  # complex, two frozen fragments, two in the complex basis
    for m in molecules:
        points = {tuple(m.positions[k]) for k in m.model}
        assert points == {p for p in region_points if p in set(m.positions)}, m.name
        if m.ghosts:  # a ghost partner: the same region atoms as the complex, some as ghosts
            assert m.model == q.complex.model
    assert method.label == "ONIOM(B3LYP-D3BJ/def2-SVP (grid 1):GFN2-xTB, 2.5 Å)"
    assert method.key() != get_method("screening").key()
    assert q.complex.key() != mol.key()  # the region is part of the structure's key


def test_regions_that_cut_what_should_not_be_cut():
    mol = li_butanol()
    # a Li–O bond is never cut: from a region holding only the O, Li joins it
    assert mol.natoms - 1 in model_region(mol, [mol.symbols.index("O")], 0.5)
    benzene = Molecule.from_arrays(
        ["C"] * 6 + ["H"] * 6 + ["Li"],
        [*[(1.39 * np.cos(a), 1.39 * np.sin(a), 0.0) for a in np.arange(6) * np.pi / 3],
         *[(2.47 * np.cos(a), 2.47 * np.sin(a), 0.0) for a in np.arange(6) * np.pi / 3],
         (1.39, 0.0, 2.2)], 1, 1)
    grown = model_region(benzene, [12], 1.5)
    assert set(range(12)) <= grown  # the ring (and its H) joined whole
    with pytest.raises(InputError, match="would cut a multiple bond .* extend: true"):
        model_region(benzene, [12], 2.7, extend=False)
    with pytest.raises(InputError, match="needs a guest"):
        model_region(benzene, [], 3.0)


def test_silanol_region_cuts_silica_only_at_o_si_bonds():
    from screening.hosts import get_host

    silica = get_host("SiO2").molecule
    si = silica.symbols.index("Si")
    plain = model_region(silica, [si], 1.0)
    capped = model_region(silica, [si], 1.0, silanol=True)
    links = lambda region: [(silica.symbols[i], silica.symbols[j])  # noqa: E731
                            for i, j, _ in layers(replace(silica, model=region)).links]
    assert ("Si", "O") in links(plain)  # a Si-side cut: a silane Si–H cap
    assert capped > plain
    assert links(capped) and set(links(capped)) == {("O", "Si")}  # silanol caps only
    for i in capped:  # every Si inside has all its O inside
        if silica.symbols[i] == "Si":
            o = [j for j in range(silica.natoms) if silica.symbols[j] == "O"
                 and np.linalg.norm(np.subtract(silica.positions[i], silica.positions[j])) < 1.9]
            assert set(o) <= capped


def test_silanol_option_in_label_and_key_only_when_set():
    plain = get_method({"preset": "screening-grid3", "oniom": {"radius": 3.5}})
    off = get_method({"preset": "screening-grid3", "oniom": {"radius": 3.5, "silanol": False}})
    on = get_method({"preset": "screening-grid3", "oniom": {"radius": 3.5, "silanol": True}})
    assert plain.key() == off.key() != on.key()
    assert "oniom_silanol" not in plain.to_dict()  # the keys of stored ONIOM rows stay
    assert on.label.endswith(", 3.5 Å, silanol caps)") and "silanol" not in plain.label
    assert on.high_level.key() == plain.high_level.key() == get_method("screening-grid3").key()


@pytest.mark.parametrize("oniom, where, message", [
    ("{low: gfn2-xtb, radius: 0}", "method.oniom.radius", "0.5–30 Å"),
    ("{low: gfn1-xtb, radius: 4}", "method.oniom.low", "not available"),
    ("{radius: 2.7, extend: false}", "method.oniom.extend", "would cut"),
    ("{low: gfn2-xtb}", "method.oniom.radius", "needs radius"),
    ("{low: gfn2-xtb, radius: abc}", "method.oniom.radius", "got 'abc'"),
    ("{radius: 4, silanol: 1}", "method.oniom.silanol", "true or false"),
    # a region of Li+ alone: the binding energy would be GFN2-xTB's, not an ONIOM one
    ("{radius: 2.0}", "method.oniom.radius", "holds no atom of 'benzene' (its nearest atom is "
                                             "2.60 Å from the guest)"),
])
def test_bad_oniom_input_refused_with_file_line_field(workdir, capsys, oniom, where, message):
    from screening.cli import main

    from .conftest import write_xyz_text

    # Li+ 2.6 Å over one C of benzene: a 2.7 Å region around Li+ cuts the ring's C–C bonds
    ring = [(1.39 * np.cos(a), 1.39 * np.sin(a), 0.0) for a in np.arange(6) * np.pi / 3]
    hs = [(2.47 * np.cos(a), 2.47 * np.sin(a), 0.0) for a in np.arange(6) * np.pi / 3]
    write_xyz_text(workdir / "c.xyz", ["C"] * 6 + ["H"] * 6 + ["Li"],
                   ring + hs + [(1.39, 0.0, 2.6)], charge=1)
    (workdir / "c.yaml").write_text(f"""name: c
method: {{preset: screening, basis: sto-3g, oniom: {oniom}}}
structures:
  complex:
    file: c.xyz
    charge: 1
    fragments:
      - {{name: benzene, atoms: "0-11"}}
      - {{name: Li+, atoms: [12], charge: 1}}
quantities:
  - {{name: Li+ on benzene, kind: binding, complex: complex}}
""")
    assert main(["validate", "c.yaml"]) == 2
    err = capsys.readouterr().err
    assert "c.yaml:2: " in err and where in err and message in err, err


def test_oniom_refused_for_kinds_it_does_not_cover(workdir, capsys):
    from screening.cli import main

    from .conftest import small_campaign

    text = small_campaign(workdir, basis="sto-3g").read_text()
    text = text.replace("method: {preset: screening, basis: sto-3g}",
                        "method: {preset: screening, basis: sto-3g, oniom: {radius: 3}}")
    text += ("  - {name: split, kind: dissociation, paired: Li+H2O, products: [Li+, water]}\n")
    (workdir / "d.yaml").write_text(text)
    assert main(["validate", "d.yaml"]) == 2
    assert "ONIOM is available for binding" in capsys.readouterr().err


def test_oniom_binding_through_the_pipeline(workdir):
    """A campaign with an ONIOM method runs through FireWorks: the row is labelled, its value
    is the ONIOM energies' sum (each term in two layers, counterpoise partners included), and
    a rerun computes nothing."""
    from screening import api
    from screening.store import ResultStore

    from .conftest import write_xyz_text

    mol = li_butanol()
    write_xyz_text(workdir / "c.xyz", mol.symbols, mol.positions, charge=1)
    n = mol.natoms
    (workdir / "o.yaml").write_text(f"""name: o
method: {{functional: hf, basis: sto-3g, dispersion: null, density_fit: false,
          oniom: {{low: gfn2-xtb, radius: 2.5}}}}
counterpoise: true
structures:
  complex:
    file: c.xyz
    charge: 1
    fragments:
      - {{name: butanol, atoms: "0-{n - 2}"}}
      - {{name: Li+, atoms: [{n - 1}], charge: 1}}
quantities:
  - {{name: Li+ on butanol, kind: binding, complex: complex}}
""")
    table = api.run_campaign(workdir / "o.yaml", db=workdir / "o.db", store=workdir / "s.json",
                             output=workdir / "out", progress=False)
    row = table.iloc[0]
    assert row["method"] == "ONIOM(HF/sto-3g:GFN2-xTB, 2.5 Å)" and row["missing"] == ""
    store = ResultStore(workdir / "o.db")
    assert store.count() == 5
    plans = [store.get_key(k).data["result"]["scf_plan"].get("oniom")
             for k in store.dataframe()["calc_key"]]
    assert all(p is not None for p in plans)
    whole = [p for p in plans if p["model_atoms"] == p["real_atoms"] and not p["link_atoms"]]
    assert len(whole) == 1 and whole[0]["E_xtb_model"] == whole[0]["E_xtb_real"]  # Li+ alone
    assert -3.0 < row["value_eV"] < -0.5  # Li+ on an alcohol O, bound
    from screening.campaign import load_campaign
    from screening.specs import calc_key

    method = load_campaign(workdir / "o.yaml").method
    for key in store.dataframe()["calc_key"]:  # each record holds its region: its own key back
        mol = store.molecule(key)
        assert mol.model and calc_key(mol, method) == key, mol.name
        assert api.structure(key, workdir / "o.db").info["oniom_model"] == sorted(mol.model)
    again = api.run_campaign(workdir / "o.yaml", db=workdir / "o.db", store=workdir / "s.json",
                             output=workdir / "out", progress=False)
    assert again.iloc[0]["value_eV"] == row["value_eV"] and store.count() == 5


def test_oniom_placement_regions_pose_by_pose(workdir):
    """Li⁺ placed on a PVDF-HFP oligomer with an ONIOM method: each kept pose's complex, its
    fragments, ghost partners and the relaxed host reference carry one region, and the row has
    its value with no gap."""
    from screening import api
    from screening.collect import expand
    from screening.campaign import load_campaign
    from screening.store import ResultStore

    (workdir / "p.yaml").write_text("""name: p
method: {functional: hf, basis: sto-3g, dispersion: null, density_fit: false,
          oniom: {radius: 3.0}}
counterpoise: true
quantities:
  - {name: Li+ on chain, kind: binding, host: {name: PVDF-HFP, units: 3, hfp_units: 0},
     guest: Li+, sites: [F], poses: 2, keep: 1}
""")
    table = api.run_campaign(workdir / "p.yaml", db=workdir / "p.db", store=workdir / "s.json",
                             output=workdir / "out", progress=False)
    row = table.iloc[0]
    assert row["missing"] == "" and row["method"].startswith("ONIOM(HF/sto-3g:GFN2-xTB, 3 Å)")
    assert -3.0 < row["value_eV"] < -0.3
    store = ResultStore(workdir / "p.db")
    (q,) = expand(load_campaign(workdir / "p.yaml"), store)
    region = q.complex.model
    n_host = len(q.fragments[0].atoms)
    assert region and len(region) < q.complex.natoms  # a real two-layer split
    assert q.fragments[0].reference.model == frozenset(k for k in region if k < n_host)
    campaign = load_campaign(workdir / "p.yaml")
    for m in q.molecules():
        assert store.get(m, campaign.method) is not None, m.name
    # nothing before the search: the bare host, with no region, would have been full DFT
    assert campaign.calculations() == []
    computed = store.dataframe()
    computed = computed[computed["method"].str.startswith("ONIOM")]
    assert len(computed) == len({m.key() for m in q.molecules()}) == 5 + 2
    assert campaign.size()["calculations"] == 5 + 2  # what validate announces


@pytest.mark.slow
def test_oniom_salt_dissociation_on_a_host(workdir):
    """LiTFSI on a PVDF oligomer (seed 003's kind): both states carry one region, grown from
    the two ions in either state; a region as large as the system gives the single-level
    dissociation energy exactly; a 2.5 Å region splits the host in two layers and stays near
    the single-level value; a rerun computes nothing."""
    from screening import api
    from screening.campaign import load_campaign
    from screening.collect import expand
    from screening.store import ResultStore

    def campaign(name: str, oniom: str) -> str:
        (workdir / f"{name}.yaml").write_text(f"""name: {name}
method: {{functional: hf, basis: sto-3g, dispersion: null, density_fit: false{oniom}}}
quantities:
  - {{name: LiTFSI on PVDF, kind: dissociation, host: {{name: PVDF-HFP, units: 2,
     hfp_units: 0}}, salt: [Li+, TFSI-], separation: 5.0, poses: 2}}
""")
        return f"{name}.yaml"

    run, said = {}, []
    for name, oniom in (("plain", ""), ("whole", ", oniom: {radius: 30}"),
                        ("split", ", oniom: {radius: 2.5}")):
        file = workdir / campaign(name, oniom)
        run[name] = api.run_campaign(file, db=workdir / "d.db", store=workdir / "s.json",
                                     output=workdir / name, progress=said.append).iloc[0]
        assert run[name]["missing"] == "", run[name]["missing"]
        # the two states, each queued once: the states' searches are stored after the first
        # campaign, and each of the two searches used to queue both states again
        added = [int(line.split(" calculations added")[0].rsplit(" ", 1)[-1])
                 for line in said if "calculations added" in line]
        assert sorted(added) == [0, 2], said
        assert "2 single points: 0 already stored, 2 to compute" in said, said
        said.clear()
    store = ResultStore(workdir / "d.db")
    assert run["split"]["method"] == "ONIOM(HF/sto-3g:GFN2-xTB, 2.5 Å)"
    assert run["whole"]["value_eV"] == pytest.approx(run["plain"]["value_eV"], abs=1e-6)
    assert 0.5 < run["plain"]["value_eV"] < 8.0  # opposite charges pulled apart: uphill
    # one region by atom in both states, else the two levels' total energies of the host atoms
    # only one state's region holds would not cancel (thousands of eV here; measured 0.024 eV
    # off the single-level value with the shared region)
    assert abs(run["split"]["value_eV"] - run["plain"]["value_eV"]) < 0.2
    (q,) = expand(load_campaign(workdir / "split.yaml"), store)
    (apart,) = q.products
    assert q.paired.model == apart.model
    n_host = 14  # H-(CH2CF2)2-H
    assert set(range(n_host, apart.natoms)) <= apart.model  # both ions
    assert 0 < len(apart.model - set(range(n_host, apart.natoms))) < n_host  # two layers
    count = store.count()
    api.run_campaign(workdir / "split.yaml", db=workdir / "d.db", store=workdir / "s.json",
                     output=workdir / "split", progress=False)
    assert store.count() == count


def test_xtb_single_point_falls_back_to_heavier_damping():
    """The ONIOM model of a separated ion pair whose GFN2-xTB SCF oscillates at tblite's default
    mixing gets its energy from the ladder's damped rung, the same as that setting run alone;
    a molecule that converges at the defaults keeps its default energy."""
    from ase.io import read
    from ase.units import Hartree
    from ase.calculators.calculator import CalculationFailed
    from tblite.ase import TBLite

    from screening.engines.xtb import SCF_LADDER, xtb_energy

    from .conftest import ROOT

    atoms = read(ROOT / "tests" / "data" / "li_tfsi_separated_model.xyz")
    mol = Molecule.from_atoms(atoms, 0, 1)

    def alone(options: dict) -> float:
        a = atoms.copy()
        a.calc = TBLite(method="GFN2-xTB", charge=0, multiplicity=1, verbosity=0, **options)
        return a.get_potential_energy() / Hartree

    with pytest.raises(CalculationFailed, match="not converged"):
        alone(SCF_LADDER[0])
    energy, grad = xtb_energy(mol, gradient=True)
    assert energy == pytest.approx(alone(SCF_LADDER[1]), abs=1e-9)
    assert grad.shape == (mol.natoms, 3) and np.isfinite(grad).all()
    water = Molecule.from_arrays(["O", "H", "H"], [[0, 0, 0], [0.96, 0, 0], [-0.24, 0.93, 0]])
    atoms = water.to_atoms()  # alone() computes ``atoms``
    assert xtb_energy(water)[0] == pytest.approx(alone({}), abs=1e-12)


def test_oniom_barrier_shares_one_region_and_matches_full_dft(workdir):
    """Li⁺ hops between two fixed waters, a third water 7 Å off the path. The ONIOM region
    grows from the atom that moves in both endpoints (Li⁺ and both waters, not the third), every
    image is computed with it, and the barrier on the GFN2-xTB band matches full HF on the same
    band (the far water's low-level error is nearly the same along the path)."""
    from screening import api
    from screening.store import ResultStore

    from .conftest import write_xyz_text

    waters = [("O", 0, 0, 0), ("H", -0.587, 0.757, 0), ("H", -0.587, -0.757, 0),
              ("O", 5.0, 0, 0), ("H", 5.587, 0.757, 0), ("H", 5.587, -0.757, 0),
              ("O", 2.5, 7.0, 0), ("H", 2.5, 7.587, 0.757), ("H", 2.5, 7.587, -0.757)]
    for name, x in (("a", 1.9), ("b", 3.1)):
        atoms = [("Li", x, 0, 0)] + waters
        write_xyz_text(workdir / f"{name}.xyz", [a[0] for a in atoms], [a[1:] for a in atoms],
                       charge=1)
    rows = {}
    for label, oniom in (("full", ""), ("oniom", ", oniom: {radius: 2.5}")):
        (workdir / f"{label}.yaml").write_text(f"""name: {label}
method: {{functional: hf, basis: sto-3g, dispersion: null, density_fit: false{oniom}}}
structures:
  A: {{file: a.xyz, charge: 1}}
  B: {{file: b.xyz, charge: 1}}
quantities:
  - {{name: Li+ hop, kind: barrier, initial: A, final: B, images: 3, fixed: "1-9",
     mode: xtb-path}}
""")
        rows[label] = api.run_campaign(workdir / f"{label}.yaml", db=workdir / f"{label}.db",
                                       store=workdir / "s.json", output=workdir / label,
                                       progress=False).iloc[0]
    assert rows["oniom"]["method"].startswith("ONIOM(HF/sto-3g:GFN2-xTB, 2.5 Å)")
    assert rows["oniom"]["status"] == rows["full"]["status"] == "converged"
    store = ResultStore(workdir / "oniom.db")
    plans = [store.get_key(k).data["result"]["scf_plan"].get("oniom")
             for k in store.dataframe()["calc_key"]]
    assert len(plans) == 5  # both endpoints and the three images
    assert {(p["model_atoms"], p["link_atoms"], p["real_atoms"]) for p in plans} == {(7, 0, 10)}
    assert rows["oniom"]["value_eV"] == pytest.approx(rows["full"]["value_eV"], abs=0.01)
    assert 0.02 < rows["oniom"]["value_eV"] < 0.5


def test_oniom_barrier_with_no_atom_moving_far_is_refused(workdir, capsys):
    """Endpoints that differ (Li⁺ 0.4 Å along the O···O line) but move no atom more than
    0.5 Å leave ONIOM nothing to grow its region from: refused before any compute, naming the
    file and ``method.oniom``."""
    from screening.cli import main

    from .conftest import write_xyz_text

    waters = [("O", 0, 0, 0), ("H", -0.587, 0.757, 0), ("H", -0.587, -0.757, 0),
              ("O", 5.0, 0, 0), ("H", 5.587, 0.757, 0), ("H", 5.587, -0.757, 0)]
    for name, x in (("a", 2.3), ("b", 2.7)):
        atoms = [("Li", x, 0, 0)] + waters
        write_xyz_text(workdir / f"{name}.xyz", [a[0] for a in atoms], [a[1:] for a in atoms],
                       charge=1)
    (workdir / "near.yaml").write_text("""name: near
method: {functional: hf, basis: sto-3g, dispersion: null, oniom: {radius: 2.5}}
structures:
  A: {file: a.xyz, charge: 1}
  B: {file: b.xyz, charge: 1}
quantities:
  - {name: short hop, kind: barrier, initial: A, final: B, images: 3, mode: xtb-path}
""")
    assert main(["run", "near.yaml", "--db", "r.db"]) == 2
    err = capsys.readouterr().err
    assert "near.yaml" in err and "method.oniom" in err and "no atom moves more than 0.5" in err
    assert not (workdir / "r.db").exists()


def test_relaxation_on_the_oniom_energy_keeps_its_region():
    """``engines.relaxed`` at an ONIOM method relaxes on the two-layer energy: the structure comes
    back with its region, below 0.05 eV/Å on the ONIOM forces, and lower in energy."""
    from screening.engines import relaxed

    method = replace(HF, oniom_radius=2.5)
    mol = li_butanol()
    mol = replace(mol, model=model_region(mol, [mol.natoms - 1], 2.5))
    start = compute_oniom(mol, method).energy
    final, energy = relaxed(mol, method, fixed=tuple(range(mol.natoms - 1)))
    assert final.model == mol.model
    result = compute_oniom(final, method, gradient=True)
    assert energy == pytest.approx(result.energy, abs=1e-10) and energy < start
    force = np.linalg.norm(np.asarray(result.gradient)[-1]) * 27.211386 / Bohr  # eV/Å on Li+
    assert force < 0.05


def test_start_line_sees_the_checkpoint_of_the_oniom_model(tmp_path):
    """An ONIOM single point cut off mid-SCF leaves the checkpoint of its DFT model (link atoms
    included), not of the whole structure: the run's start line must look for that one."""
    from pyscf import lib

    from screening.engines.checkpoint import ScfCheckpoint
    from screening.pipeline.local import _start_line
    from screening.settings import Settings

    settings = Settings(cache_dir=str(tmp_path), threads=1, device="cpu")
    mol = li_butanol()
    mol = replace(mol, model=model_region(mol, [mol.natoms - 1], 2.5))
    method = get_method({"preset": "screening", "oniom": {"radius": 2.5}})
    line = _start_line(mol.to_dict(), method.to_dict(), "Li+ butanol", settings)
    assert "resuming" not in line
    whole = ScfCheckpoint.of(mol, method.high_level, settings).path
    whole.parent.mkdir(parents=True, exist_ok=True)
    whole.touch()  # a checkpoint of the whole structure is not the one ONIOM's SCF uses
    assert "resuming" not in _start_line(mol.to_dict(), method.to_dict(), "Li+ butanol", settings)
    model = ScfCheckpoint.of(layers(mol).model, method.high_level, settings)
    assert model.acquire()  # a sitting stopped before its first SCF cycle: bookkeeping only
    assert model.initial_density(nao=10) is None
    model.release(keep=True)
    assert model.path.exists() and not model.holds_orbitals()
    assert "resuming" not in _start_line(mol.to_dict(), method.to_dict(), "Li+ butanol", settings)
    lib.chkfile.dump(str(model.path), "scf", {"mo_coeff": np.eye(10), "mo_occ": np.ones(10)})
    assert model.holds_orbitals()
    line = _start_line(mol.to_dict(), method.to_dict(), "Li+ butanol", settings)
    assert line.endswith("resuming its SCF from a checkpoint") and "(16 atoms)" in line


def test_a_region_is_no_part_of_a_calculation_without_layers(tmp_path):
    """The same atoms with and without an ONIOM region are one calculation at plain DFT (the
    full-DFT side of a validation finds the campaign's records) and two at ONIOM."""
    from screening.specs import calc_key
    from screening.store import ResultStore

    mol = li_butanol()
    region = replace(mol, model=model_region(mol, [mol.natoms - 1], 2.5))
    oniom = replace(HF, oniom_radius=2.5)
    assert calc_key(region, HF) == calc_key(mol, HF)
    assert calc_key(region, oniom) != calc_key(mol, oniom)
    store = ResultStore(str(tmp_path / "r.db"))
    rec, computed = store.energy_of(region, HF)
    assert computed and "model" not in rec.row.data
    again, computed = store.energy_of(mol, HF)
    assert not computed and again.energy == rec.energy
