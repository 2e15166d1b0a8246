"""The seed campaigns' machinery: GFN2-xTB as a level, tiers, paper values and orderings, export
and import of stored calculations, and the shipped seed results."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from screening import api
from screening.campaign import load_campaign
from screening.errors import InputError
from screening.store import ResultStore

from .conftest import LI_H2O, LI_WATER_STRUCTURES, ROOT, WATER, write_xyz_text

ENV = {**os.environ, "PYTHONPATH": str(ROOT), "SCREENING_THREADS": "1"}
SEEDS = sorted((ROOT / "workflows").glob("seed*.yaml"))
EV = 27.211386245988


def cli(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "screening.cli", *args], cwd=cwd,
                          env={**ENV, **env}, capture_output=True, text=True, timeout=900)


def tiered_campaign(folder: Path, extra: str = "", orderings: str | None = None) -> Path:
    """Li+ on water and on a water dimer's acceptor, a fast (GFN2-xTB) and a dft tier; the
    dimer row only at the fast tier. Paper values and an ordering are set beside them."""
    write_xyz_text(folder / "li_h2o.xyz", *LI_H2O, charge=1)
    write_xyz_text(folder / "h2o.xyz", *WATER)
    orderings = orderings if orderings is not None else """orderings:
  - claim: Li+ binds to water (an ordering that holds)
    increasing: [Li+ binding to water, Li+ to water again]
    source: test
"""
    text = f"""name: tiered
counterpoise: true
tiers:
  fast: {{method: gfn2-xtb}}
  dft: {{method: {{preset: screening, basis: sto-3g}}}}
{LI_WATER_STRUCTURES}quantities:
  - {{name: Li+ binding to water, kind: binding, complex: Li+H2O,
     paper: {{value_eV: -1.5, source: "test paper, Fig. 1"}}}}
  - {{name: Li+ to water again, kind: reaction, tiers: [fast],
     terms: [{{structure: Li+H2O, coefficient: 1}}, {{structure: Li+, coefficient: -1}},
             {{structure: water, coefficient: -1}}]}}
{extra}{orderings}"""
    path = folder / "tiered.yaml"
    path.write_text(text)
    return path


def test_gfn2_xtb_method_is_tblite(workdir):
    """The gfn2-xtb preset computes with tblite (same energy as tblite called directly), takes
    no basis, and is labelled as what it is."""
    from ase.units import Hartree
    from tblite.ase import TBLite

    from screening.engines import single_point
    from screening.methods import get_method
    from screening.species import get_species

    method = get_method("gfn2-xtb")
    assert method.label == "GFN2-xTB" and method.is_xtb
    pc = get_species("PC").molecule()
    atoms = pc.to_atoms()
    atoms.calc = TBLite(method="GFN2-xTB", charge=0, multiplicity=1, verbosity=0)
    direct = atoms.get_potential_energy() / Hartree
    result = single_point(pc, method, gradient=True)
    assert abs(result.energy - direct) < 1e-8
    assert abs(direct - (-23.8556)) < 1e-3  # GFN2-xTB total energy of PC (Eh), not a DFT one
    forces = atoms.get_forces()
    assert abs(-forces[0, 0] * 0.529177210903 / Hartree - result.gradient[0][0]) < 1e-8
    with pytest.raises(InputError, match="GFN2-xTB takes no basis"):
        get_method({"preset": "gfn2-xtb", "basis": "def2-svp"})


def test_tiers_papers_orderings_end_to_end(workdir):
    """A tiered campaign runs at its fast tier through FireWorks: rows are GFN2-xTB (no
    counterpoise), the paper's value and difference sit beside ours, the ordering is judged,
    and at the dft tier the fast-only row says where it is computed."""
    path = tiered_campaign(workdir)
    proc = cli("run", str(path), "--tier", "fast", cwd=workdir)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert "tiered (tier fast): energies in eV at GFN2-xTB" in proc.stdout
    assert "published orderings" in proc.stdout
    table = pd.read_csv(workdir / "results/tiered/fast/quantities.csv")
    row = table.set_index("quantity").loc["Li+ binding to water"]
    assert row["method"] == "GFN2-xTB" and not row["counterpoise"]
    # GFN2-xTB binds Li+ to water by about -1.9 eV at this geometry (DFT: -1.5 to -1.6 eV)
    assert -2.6 < row["value_eV"] < -1.2
    assert row["paper_eV"] == -1.5
    assert abs(row["diff_eV"] - (row["value_eV"] + 1.5)) < 1e-9
    orderings = pd.read_csv(workdir / "results/tiered/fast/orderings.csv")
    # the reaction is E(Li+H2O) - E(Li+) - E(relaxed water): the same as the binding energy
    # without counterpoise, so "binding < reaction" cannot hold strictly
    assert list(orderings["reproduced"]) == ["no"]
    again = table.set_index("quantity").loc["Li+ to water again", "value_eV"]
    assert abs(again - row["value_eV"]) < 1e-9
    # the dft tier: the reaction is left out and its row says so; nothing computed yet
    dft = api.quantities(path, db=workdir / "results/screening.db", tier="dft")
    status = dft.set_index("quantity").loc["Li+ to water again", "status"]
    assert status == "not in tier dft (its tiers: fast)"
    assert dft.set_index("quantity").loc["Li+ binding to water", "missing"] != ""
    assert list(pd.read_csv(workdir / "results/tiered/fast/quantities.csv")["of"]) == \
        ["Li+ binding to water", "Li+ to water again"]
    # the report: both tiers side by side with the paper, computing nothing
    n = ResultStore(workdir / "results/screening.db").count()
    proc = cli("report", str(path), "-o", "report", cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    assert ResultStore(workdir / "results/screening.db").count() == n
    # its progress lines count each tier's own quantities (the reaction is at fast only)
    assert "tier fast: 2 of 2 quantities have a value" in proc.stdout + proc.stderr
    assert ("tier dft: 0 of 1 quantities have a value at B3LYP-D3BJ/sto-3g (grid 1) (1 more at "
            "other tiers only)") in proc.stdout + proc.stderr
    summary = pd.read_csv(workdir / "report/summary.csv").set_index("quantity")
    assert list(summary.columns) == ["paper_eV", "fast: GFN2-xTB",
                                     "dft: B3LYP-D3BJ/sto-3g (grid 1)", "paper_source"]
    assert summary.loc["Li+ binding to water", "fast: GFN2-xTB"] == pytest.approx(
        row["value_eV"], abs=1e-4)
    assert pd.isna(summary.loc["Li+ binding to water", "dft: B3LYP-D3BJ/sto-3g (grid 1)"])
    verdicts = pd.read_csv(workdir / "report/orderings.csv")
    columns = ["reproduced (fast: GFN2-xTB)", "reproduced (dft: B3LYP-D3BJ/sto-3g (grid 1))"]
    assert list(verdicts.iloc[0][columns]) == ["no", "incomplete"]
    assert (workdir / "report/summary.png").stat().st_size > 10_000
    markdown = (workdir / "report/summary.md").read_text()
    assert f"| Li+ binding to water | -1.50 | {row['value_eV']:.2f} | – |" in markdown
    # the fast verdict carries its margin (the two values are equal: about 0); dft has none
    assert "| Li+ binds to water (an ordering that holds) | no (+0.00) | incomplete |" in \
        markdown.replace("(-0.00)", "(+0.00)")
    assert "In brackets: the smallest step along the ordering (eV)" in markdown


def test_summary_names_each_tier_by_its_whole_label():
    """A tier whose method label ends in a bracket (an ONIOM one) keeps it in the verdict table."""
    from screening.collect import summary_markdown

    label = "dft-oniom: ONIOM(B3LYP-D3BJ/def2-SVP:GFN2-xTB, 3.5 Å)"
    summary = pd.DataFrame({"quantity": ["a"], "paper_eV": [0.7], label: [4.07]})
    orderings = pd.DataFrame({"claim": ["a is small"], f"reproduced ({label})": ["no"]})
    text = summary_markdown("s", summary, orderings)
    assert f"| published ordering | {label} |" in text
    assert "| a | 0.70 | 4.07 |" in text


@pytest.mark.parametrize("values, increasing, verdict", [
    ([0.7, 2.6, 4.1], True, "yes"),
    ([None, 2.6, 0.8], True, "no"),   # seed 003 at DFT: chain 2.6 > SiO2 0.8, interface missing
    ([None, 2.6, 4.1], True, "incomplete"),
    ([0.7, None, 0.5], True, "no"),   # the known ends already break the order
    ([4.1, None, 0.7], False, "incomplete"),
    ([None, None, 0.7], True, "incomplete"),
])
def test_ordering_verdict_says_no_once_computed_values_break_it(values, increasing, verdict):
    """An ordering is not reproduced as soon as two computed values are out of order, whatever
    the missing ones would be; it is incomplete only while the computed ones agree with it."""
    from screening.campaign.papers import Annotations, Ordering, check_orderings

    names = ("interface", "chain", "silica")
    table = pd.DataFrame({"of": names, "kind": "dissociation",
                          "value_eV": [float("nan") if v is None else v for v in values]})
    notes = Annotations(orderings=[Ordering("claim", names, increasing)])
    assert check_orderings(table, notes)["reproduced"].tolist() == [verdict]


@pytest.mark.parametrize("values, increasing, margin", [
    ([0.7, 2.6, 4.1], True, 1.5),     # the smallest step, in the published direction
    ([None, 2.6, 0.8], True, -1.8),   # against it: negative
    ([4.1, None, 0.7], False, 3.4),   # consecutive computed values, across a missing one
    ([None, None, 0.7], True, None),  # one value: no step
])
def test_ordering_margin_is_the_smallest_step_the_published_way(values, increasing, margin):
    """How far a verdict is from turning: the smallest step between consecutive computed values,
    positive where it goes the published way."""
    from screening.campaign.papers import Annotations, Ordering, check_orderings

    names = ("interface", "chain", "silica")
    table = pd.DataFrame({"of": names, "kind": "dissociation",
                          "value_eV": [float("nan") if v is None else v for v in values]})
    notes = Annotations(orderings=[Ordering("claim", names, increasing)])
    got = check_orderings(table, notes)["margin_eV"].tolist()[0]
    assert (got is None or pd.isna(got)) if margin is None else got == pytest.approx(margin)


@pytest.mark.parametrize("change, where", [
    ("orderings:\n  - {claim: x, increasing: [Li+ binding to water, nothing]}\n",
     "orderings[0].increasing"),
    ("orderings:\n  - {claim: x, increasing: [Li+ binding to water]}\n",
     "orderings[0].increasing"),
    ("orderings:\n  - {increasing: [Li+ binding to water, Li+ to water again]}\n",
     "orderings[0].claim"),
    ("orderings:\n  - {claim: x, increasing: [Li+ binding to water, Li+ to water again],\n"
     "     decreasing: [Li+ binding to water, Li+ to water again]}\n", "orderings[0]"),
])
def test_bad_orderings_refused_with_location(workdir, change, where):
    path = tiered_campaign(workdir, orderings=change)
    with pytest.raises(InputError) as exc:
        load_campaign(path, check_only=True)
    assert where in str(exc.value) and "tiered.yaml:" in str(exc.value)


def test_bad_tiers_and_papers_refused(workdir):
    path = tiered_campaign(workdir)
    with pytest.raises(InputError, match="no such tier; its tiers: fast, dft"):
        load_campaign(path, check_only=True, tier="gpu")
    text = path.read_text()
    cases = {
        "method: screening\n" + text: "give method: or tiers:",
        text.replace("tiers: [fast]", "tiers: [slow]"): "unknown tier 'slow'",
        text.replace('source: "test paper, Fig. 1"', 'note: x'): "needs source:",
        text.replace("value_eV: -1.5", "value_eV: lots"): "value_eV must be a number",
        text.replace("fast: {method: gfn2-xtb}", "fast: {method: gfn2-xtb, basis: x}"):
            "unknown key 'basis'",
        text.replace("fast: {method: gfn2-xtb}",
                     "fast: {method: {preset: gfn2-xtb, dispersion: d3bj}}"):
            "GFN2-xTB takes no dispersion",
    }
    for bad, message in cases.items():
        path.write_text(bad)
        with pytest.raises(InputError, match=message) as exc:
            load_campaign(path, check_only=True)
        assert "tiered.yaml" in str(exc.value)
    # the command line: exit 2, nothing written
    path.write_text(text)
    proc = cli("run", str(path), "--tier", "dft", "--only", "Li+ to water again", cwd=workdir)
    assert proc.returncode == 2 and "not in tier dft (its tiers: fast)" in proc.stderr
    proc = cli("run", str(path), "--tier", "fast", "--only", "Li+ to nothing", cwd=workdir)
    assert proc.returncode == 2 and "'Li+ to nothing': no such quantity" in proc.stderr
    path.write_text(text.replace("tiers: [fast]", "tiers: [slow]"))
    proc = cli("run", str(path), cwd=workdir)
    assert proc.returncode == 2 and "unknown tier 'slow'" in proc.stderr
    assert not (workdir / "results").exists()


def test_run_only_keeps_every_row_in_the_written_table(workdir, capsys):
    """``run --only`` computes one quantity, prints its row, and writes the tier's table with
    every quantity: the other one missing before it is run, and still there after a second
    ``--only`` run of the first, whose printed ordering verdict is judged on both rows."""
    from screening.cli import main

    path = tiered_campaign(workdir)
    csv = workdir / "results/tiered/fast/quantities.csv"
    assert main(["run", str(path), "--tier", "fast", "--only", "Li+ to water again"]) == 0
    printed = capsys.readouterr().out.split("energies in eV")[-1].split("published orderings")[0]
    assert "Li+ to water again" in printed and "Li+ binding to water" not in printed
    first = pd.read_csv(csv).set_index("quantity")["value_eV"]
    assert set(first.index) == {"Li+ binding to water", "Li+ to water again"}
    assert np.isnan(first["Li+ binding to water"]) and first["Li+ to water again"] < -0.5
    assert main(["run", str(path), "--tier", "fast", "--only", "Li+ binding to water"]) == 0
    verdicts = capsys.readouterr().out.split("published orderings")[-1]
    assert "Li+ binds to water" in verdicts and "incomplete" not in verdicts  # judged on both
    second = pd.read_csv(csv).set_index("quantity")["value_eV"]
    assert second["Li+ to water again"] == pytest.approx(first["Li+ to water again"], abs=1e-6)
    assert second["Li+ binding to water"] < -0.5


@pytest.mark.slow
def test_export_import_then_rerun_computes_nothing(workdir):
    """A campaign with placements (one of a molecule, whose GFN2-xTB reference is in the
    placement's key) and a path, run at the fast tier, exported to text, imported into a fresh
    database on a "machine" whose own relaxation of that reference came out slightly otherwise
    (as another tblite or numpy gives), and run again from a fresh folder: the import replaces
    the reference with the exported one, nothing is computed, the table is the same, and
    importing twice adds nothing. Exporting the same records again writes the same bytes."""
    from screening.campaign.resolve import exported_structures

    extra = """  - {name: Li+ on a PVDF-HFP chain, kind: binding, host: {name: PVDF-HFP, units: 2},
     guest: Li+, sites: F, poses: 2, keep: 1, tiers: [fast]}
  - {name: water on a PVDF-HFP chain, kind: binding, host: {name: PVDF-HFP, units: 2},
     guest: water, sites: F, poses: 2, keep: 1, tiers: [fast]}
  - {name: Li+ hop along PVDF-HFP, kind: barrier, path_type: pvdf-hfp-chain, images: 3,
     fmax: 0.1, tiers: [fast]}
"""
    first = workdir / "first"
    first.mkdir()
    path = tiered_campaign(first, extra)
    proc = cli("run", str(path), "--tier", "fast", "--workers", "2", cwd=first)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    table = pd.read_csv(first / "results/tiered/fast/quantities.csv")
    assert table["value_eV"].notna().all(), table
    proc = cli("export", str(path), "-o", "calcs.json", cwd=first)
    assert proc.returncode == 0, proc.stderr
    assert "1 paths" in proc.stdout and "0 calculations" not in proc.stdout
    kept = exported_structures(first / "calcs.json")
    assert [s.split("-")[0] for s in kept] == ["guest"], kept  # water's reference
    proc = cli("export", str(path), "-o", "again.json", cwd=first)  # the same records again
    assert (first / "again.json").read_bytes() == (first / "calcs.json").read_bytes()
    second = workdir / "second"
    second.mkdir()
    cache = second / "cache" / "complexes"  # this "machine's" own relaxation of the reference
    cache.mkdir(parents=True)
    for stem, payload in kept.items():
        moved = json.loads(json.dumps(payload))
        moved["molecule"]["positions"][0][0] += 1e-4
        (cache / f"{stem}.json").write_text(json.dumps(moved))
    path2 = tiered_campaign(second, extra)
    proc = cli("import", str(first / "calcs.json"), cwd=second,
               SCREENING_CACHE_DIR=str(second / "cache"))
    assert proc.returncode == 0 and "added" in proc.stdout, proc.stderr
    assert "1 guest references and shells written" in proc.stdout, proc.stdout
    assert {f.stem: json.loads(f.read_text()) for f in cache.glob("*.json")} == kept
    stored = ResultStore(second / "results/screening.db")
    n = stored.count()
    again = ResultStore(second / "results/screening.db").import_file(first / "calcs.json")
    assert again == {"calculations": 0, "poses": 0, "paths": 0}
    proc = cli("run", str(path2), "--tier", "fast", cwd=second,
               SCREENING_CACHE_DIR=str(second / "cache"))
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert ResultStore(second / "results/screening.db").count() == n  # computed nothing
    rerun = pd.read_csv(second / "results/tiered/fast/quantities.csv")
    pd.testing.assert_series_equal(rerun["value_eV"], table["value_eV"])
    # a damaged export file is a sentence, not a traceback
    (second / "bad.json").write_text("{not json")
    proc = cli("import", "bad.json", cwd=second)
    assert proc.returncode == 2 and "cannot read bad.json" in proc.stderr


def test_export_from_a_missing_database_is_a_sentence(workdir):
    """Exporting from a database that does not exist exits 3 naming the file, and neither the
    database nor the export file is created."""
    path = tiered_campaign(workdir)
    proc = cli("export", str(path), "-o", "calcs.json", "--db", "nowhere.db", cwd=workdir)
    assert proc.returncode == 3, proc.stderr
    assert "nowhere.db" in proc.stderr and "Traceback" not in proc.stderr
    assert not (workdir / "nowhere.db").exists() and not (workdir / "calcs.json").exists()


@pytest.mark.parametrize("seed", SEEDS, ids=lambda p: p.stem)
def test_seed_campaigns_validate_at_every_tier(seed):
    """Every seed campaign is valid at each of its tiers; each ordering names its quantities
    and every quantity with a paper value names its source."""
    first = load_campaign(seed, check_only=True)
    assert first.tiers and first.tiers[0] == "fast" and first.method.is_xtb
    for tier in first.tiers[1:]:
        c = load_campaign(seed, check_only=True, tier=tier)
        assert not c.method.is_xtb
    assert first.notes.orderings
    assert all(p.source for p in first.notes.papers.values())


SHIPPED = sorted((ROOT / "results").glob("seed*/calculations.json"))


@pytest.mark.slow
@pytest.mark.parametrize("export", SHIPPED, ids=lambda p: p.parent.name)
def test_shipped_seed_results_load_back(export, workdir, monkeypatch):
    """The shipped calculations of a seed campaign, loaded into a fresh database and an empty
    cache (a fresh machine: its GFN2-xTB references come from the file), give the shipped tables
    (every tier that has one) without computing anything."""
    campaign = next(s for s in SEEDS if s.stem.startswith(export.parent.name))
    monkeypatch.setenv("SCREENING_CACHE_DIR", str(workdir / "cache"))
    db = workdir / "fresh.db"
    added = api.import_results(export, db)
    assert added["calculations"] > 0
    for csv in sorted(export.parent.glob("*/quantities.csv")):
        shipped = pd.read_csv(csv)
        table = api.quantities(load_campaign(campaign, check_only=False, tier=csv.parent.name),
                               db=db)
        pd.testing.assert_series_equal(table["value_eV"], shipped["value_eV"],
                                       check_names=False, atol=1e-6)


def test_keys_that_read_as_numbers_are_stored(tmp_path):
    """A hex key such as '29451793e5160441' reads as a float, which ASE refuses as a string
    (the structure key of an NEB image hit it). A structure whose key reads as a number is
    stored, found, exported and imported; other keys are stored as before."""
    import re

    from screening.engines import single_point
    from screening.geometry import Molecule
    from screening.methods import get_method
    from screening.specs import calc_key
    from screening.store import public_key, stored_key

    method = get_method("gfn2-xtb")
    numeric = re.compile(r"^[0-9]+(e[0-9]+)?$")
    for i in range(20000):  # about 1 key in 700 reads as a number
        mol = Molecule(("H", "H"), ((0.0, 0.0, 0.0), (0.0, 0.0, 0.7 + 1e-5 * i)), 0, 1)
        if numeric.match(mol.key()):
            break
    assert numeric.match(mol.key()) and stored_key(mol.key()) == f"k:{mol.key()}"
    assert public_key(f"k:{mol.key()}") == mol.key()
    key = calc_key(mol, method)
    assert stored_key("0a1b2c3d4e5f6789") == "0a1b2c3d4e5f6789"
    store = ResultStore(tmp_path / "a.db")
    store.put(mol, method, single_point(mol, method).to_dict())
    assert store.get(mol, method) is not None
    assert list(store.dataframe()["calc_key"]) == [key]
    assert store.export(tmp_path / "x.json", [key])["calculations"] == 1
    fresh = ResultStore(tmp_path / "b.db")
    assert fresh.import_file(tmp_path / "x.json")["calculations"] == 1
    assert fresh.get(mol, method).energy == store.get(mol, method).energy


def test_shells_and_guest_references_are_kept(workdir, monkeypatch):
    """A campaign's GFN2-xTB shells are made once: a second load (a new resolver, as in a new
    process) reads them from the cache and gives the same structures; a damaged cache file is
    made again."""
    from screening import complexes
    from screening.settings import current_settings

    path = workdir / "shell.yaml"
    path.write_text("""name: shells
method: gfn2-xtb
structures:
  Li+(H2O)2:
    shell: {ion: Li+, ligands: [H2O, H2O], candidates: 2}
quantities:
  - {name: Li+ desolvation from (H2O)2, kind: desolvation, complex: Li+(H2O)2}
""")
    first = [m.key() for m, _ in load_campaign(path).calculations()]
    made = sorted((Path(current_settings().cache_dir) / "complexes").glob("shell-*.json"))
    assert made
    real_shell = complexes.shell
    monkeypatch.setattr(complexes, "shell", lambda *a, **k: pytest.fail("shell made again"))
    assert [m.key() for m, _ in load_campaign(path).calculations()] == first
    monkeypatch.setattr(complexes, "shell", real_shell)
    for f in made:
        f.write_text("{damaged")
    assert [m.key() for m, _ in load_campaign(path).calculations()] == first


def test_import_refuses_a_damaged_kept_structure(workdir, monkeypatch):
    """An export whose kept-structure row is no molecule, or a file that is not there, is refused
    naming the file (and row), before anything reaches the database or the cache; a sound one
    is written to the cache and a second import writes nothing."""
    from ase import Atoms
    import ase.db

    from screening.campaign.resolve import kept_path
    from screening.geometry import Molecule
    from screening.store import KEPT_STRUCTURE

    monkeypatch.setenv("SCREENING_CACHE_DIR", str(workdir / "cache"))
    water = Molecule.from_arrays(*WATER, 0, 1)
    sound = {"molecule": water.to_dict(), "parts": []}
    good, bad = workdir / "good.json", workdir / "bad.json"
    ase.db.connect(str(good), type="json").write(
        water.to_atoms(), key_value_pairs={KEPT_STRUCTURE: "guest-0123abcd"}, data=sound)
    ase.db.connect(str(bad), type="json").write(
        Atoms("H"), key_value_pairs={KEPT_STRUCTURE: "guest-4567abcd"}, data={"parts": []})
    with pytest.raises(InputError, match=r"bad\.json: row 1 \(guest-4567abcd\)"):
        api.import_results(bad, workdir / "fresh.db")
    assert not (workdir / "fresh.db").exists() and not (workdir / "cache").exists()
    with pytest.raises(InputError, match=r"missing\.json: exported results file not found"):
        api.import_results(workdir / "missing.json", workdir / "fresh.db")
    assert not (workdir / "fresh.db").exists()
    assert api.import_results(good, workdir / "fresh.db")["structures"] == 1
    assert json.loads(kept_path("guest-0123abcd").read_text()) == sound
    assert api.import_results(good, workdir / "fresh.db")["structures"] == 0


def test_import_of_a_file_with_a_stray_row_writes_nothing(workdir):
    """An export whose second row is no record (no calc, path, placement or kept-structure key)
    is refused naming the file and the row, before its sound first row reaches the database;
    the command line reads every file before importing any, so a sound file given first is not
    imported either, and no database file is created."""
    import ase.db

    from screening.geometry import Molecule

    water = Molecule.from_arrays(*WATER, 0, 1)
    good, mixed = workdir / "good.json", workdir / "mixed.json"
    ase.db.connect(str(good), type="json").write(
        water.to_atoms(), key_value_pairs={"calc_key": "0123abcd-4567abcd"})
    with ase.db.connect(str(mixed), type="json") as db:
        db.write(water.to_atoms(), key_value_pairs={"calc_key": "0123abcd-89abcdef"})
        db.write(water.to_atoms(), key_value_pairs={"name": "stray"})
    with pytest.raises(InputError, match=r"mixed\.json: row 2 is no calculation, pose or path"):
        api.import_results(mixed, workdir / "fresh.db")
    assert not (workdir / "fresh.db").exists()
    proc = cli("import", "good.json", "mixed.json", "--db", "fresh.db", cwd=workdir)
    assert proc.returncode == 2 and "mixed.json: row 2" in proc.stderr, proc.stderr
    assert not (workdir / "fresh.db").exists()
    assert api.import_results(good, workdir / "fresh.db")["calculations"] == 1


def test_import_refuses_a_kept_structure_named_like_a_path(workdir, monkeypatch):
    """A kept structure's name becomes a file name in the cache: one that is not a kind and a
    hash (here one that climbs out of the cache) is refused naming the file and row, and
    nothing is written."""
    import ase.db

    from screening.geometry import Molecule
    from screening.store import KEPT_STRUCTURE

    monkeypatch.setenv("SCREENING_CACHE_DIR", str(workdir / "cache"))
    water = Molecule.from_arrays(*WATER, 0, 1)
    bad = workdir / "bad.json"
    ase.db.connect(str(bad), type="json").write(
        water.to_atoms(), key_value_pairs={KEPT_STRUCTURE: "../../guest-0123abcd"},
        data={"molecule": water.to_dict(), "parts": []})
    with pytest.raises(InputError, match=r"bad\.json: row 1: '\.\./\.\./guest-0123abcd' is no "):
        api.import_results(bad, workdir / "fresh.db")
    assert not (workdir / "fresh.db").exists() and not (workdir / "cache").exists()
    assert not (workdir / "guest-0123abcd.json").exists()


def test_kept_structure_names_stay_inside_the_cache():
    """Where a name becomes a path, only a kind and a hash is taken, and the resolver's own
    names are of that form."""
    from screening.campaign.resolve import kept_path, kept_stem

    stem = kept_stem("guest", {"symbols": ["O", "H", "H"]})
    assert kept_path(stem).parent.name == "complexes" and kept_path(stem).stem == stem
    for bad in ("../../guest-0123abcd", "guest-0123/../x", "Guest-0123"):
        with pytest.raises(ValueError, match="no kept structure's name"):
            kept_path(bad)
    with pytest.raises(ValueError, match="no kind of kept structure"):
        kept_stem("../guest", {})
