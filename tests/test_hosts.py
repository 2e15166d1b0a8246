"""Host builders: cages, MOF cells and clusters, oligomers, silica (real stk, pymatgen, RDKit)."""

from __future__ import annotations

import numpy as np
import pytest

from screening.errors import InputError
from screening.hosts import get_host, host_names


def min_distance(mol) -> float:
    p = np.asarray(mol.positions)
    d = np.linalg.norm(p[:, None] - p[None], axis=2)
    return float(d[np.triu_indices(len(p), 1)].min())


def stereocentres(symbols, positions) -> list[str]:
    """CIP labels of the stereocentres RDKit finds in a geometry."""
    from rdkit import Chem
    from rdkit.Chem import rdDetermineBonds

    rd = Chem.MolFromXYZBlock("\n".join([str(len(symbols)), ""] + [
        f"{s} {x} {y} {z}" for s, (x, y, z) in zip(symbols, positions)]))
    rdDetermineBonds.DetermineConnectivity(rd)
    Chem.AssignStereochemistryFrom3D(rd)
    centres = Chem.FindMolChiralCenters(rd, includeUnassigned=True, useLegacyImplementation=False)
    return [label for _, label in centres]


def test_cc3_formula_chirality_cavity_and_windows():
    host = get_host("CC3")
    mol = host.molecule
    assert mol.formula == "C72H84N12" and mol.natoms == 168
    assert min_distance(mol) > 0.9
    labels = stereocentres(mol.symbols, mol.positions)
    assert len(labels) == 12
    assert set(labels) == {"R"}  # (R,R)-cyclohexanediamine throughout
    assert len(host.sites["imine_N"].points) == 12
    assert len(host.sites["window"].points) == 4
    assert 4.5 < host.info["cavity_diameter_A"] < 5.8  # 5.2 Å from pywindow (FACTS)


def test_cages_from_other_diamines_and_bad_building_blocks():
    for name, formula in (("CC1", "C48H48N12"), ("CC2", "C54H60N12")):
        host = get_host(name)
        assert host.molecule.formula == formula and len(host.sites["window"].points) == 4
    from screening.hosts.cages import TRIFORMYLBENZENE, assemble_imine_cage

    with pytest.raises(InputError, match="has 1 primary amines, the \\[4\\+6\\] imine topology"):
        assemble_imine_cage(TRIFORMYLBENZENE, "CCN", "bad")


def test_mof_cells_composition_and_space_group():
    from pymatgen.core import Composition
    from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

    from screening.hosts.mofs import bond_lengths, build_cell

    hkust = build_cell("HKUST-1")
    assert len(hkust) == 624 and hkust.composition == Composition("Cu48C288H96O192")
    assert SpacegroupAnalyzer(hkust, symprec=0.01).get_space_group_symbol() == "Fm-3m"
    cu_o = bond_lengths(hkust, "Cu", "O", 2.3)
    assert len(cu_o) == 48 * 4 and abs(cu_o.mean() - 1.951) < 0.01
    zif = build_cell("ZIF-8")
    assert len(zif) == 276 and zif.composition.formula.replace(" ", "") == "Zn12H120C96N48"
    assert SpacegroupAnalyzer(zif, symprec=0.01).get_space_group_symbol() == "I-43m"


@pytest.mark.parametrize("mof, cluster, formula, charge, mult", [
    ("HKUST-1", "paddlewheel", "C28H20Cu2O8", 0, 3),    # Cu2(benzoate)4, two Cu(II) d9
    ("ZIF-8", "node", "C16H24N8Zn", 2, 1),             # [Zn(mImH)4]2+
    ("ZIF-8", "ring4", "C48H68N24Zn4", 4, 1),
])
def test_cluster_charge_and_spin_bookkeeping(mof, cluster, formula, charge, mult):
    host = get_host(mof, cluster=cluster)
    mol = host.molecule
    assert (mol.formula, mol.charge, mol.multiplicity) == (formula, charge, mult)
    assert min_distance(mol) > 0.9
    assert host.frozen and host.info["charge"] == charge


def test_silica_and_oligomers():
    silica = get_host("SiO2", silicons=4)
    assert silica.molecule.charge == 0 and "silanol_O" in silica.sites
    n = dict(zip(*np.unique(silica.molecule.symbols, return_counts=True)))
    assert n["Si"] == 4 and 4 * n["Si"] - 2 * n["O"] + n["H"] == 0  # formal charges balance
    chain = get_host("PVDF-HFP", units=1, hfp_units=0)
    assert chain.molecule.formula == "C2H4F2" and len(chain.sites["F"].points) == 2
    doa = get_host("P(DOA)", units=2)
    assert doa.molecule.formula == "C14H18O10" and "carbonyl_O" in doa.sites
    for h in (silica, chain, doa):
        assert min_distance(h.molecule) > 0.9


def test_unknown_host_site_and_cluster_are_named():
    with pytest.raises(InputError, match="unknown host 'CC9'.*CC3"):
        get_host("CC9")
    with pytest.raises(InputError, match="no cluster model 'huge'; it has: paddlewheel"):
        get_host("HKUST-1", cluster="huge")
    with pytest.raises(InputError, match="has no site 'endo'"):
        get_host("PVDF-HFP", units=1, hfp_units=0).site("endo")
    assert {"CC3", "HKUST-1", "ZIF-8", "PVDF-HFP", "P(DOA)", "SiO2"} <= set(host_names())


def test_host_from_a_file_gets_the_library_sites(tmp_path):
    """A library host written to a file and read back as a user's host: the same sites at the
    same points (cage analysis for CC3, open metal sites for the paddlewheel, donors for the
    chain); a molecule with no cavity says so instead of getting an endo site."""
    from screening.geometry import write_xyz
    from screening.hosts import host_from_file

    for name, opts, analysis in (("CC3", {}, "cage"),
                                 ("HKUST-1", {"cluster": "paddlewheel"}, "no cavity"),
                                 ("PVDF-HFP", {"units": 4, "hfp_units": 1}, "no cavity")):
        lib = get_host(name, **opts)
        write_xyz(lib.molecule, tmp_path / f"{name}.xyz")
        mine = host_from_file(tmp_path / f"{name}.xyz", lib.molecule.charge,
                              lib.molecule.multiplicity)
        assert sorted(mine.sites) == sorted(lib.sites), name
        for s in lib.sites:
            assert np.allclose(mine.sites[s].points, lib.sites[s].points, atol=1e-4), (name, s)
        assert mine.info["analysis"].startswith(analysis), mine.info
    flat = host_from_file(tmp_path / "PVDF-HFP.xyz")
    assert "endo" not in flat.sites and "no cavity" in flat.info["analysis"]


@pytest.mark.slow
def test_host_files_in_campaigns(workdir):
    """`host: {file: ...}` places a guest in a user's cage; unreadable, overlapping or
    wrong-parity host files are refused with file, line and field, exit 2, nothing written."""
    import subprocess
    import sys

    from screening.geometry import write_xyz

    write_xyz(get_host("CC3").molecule, workdir / "cage.xyz")
    (workdir / "junk.xyz").write_text("3\n\nC 0 0 0\nC 0 0 x\n")
    (workdir / "close.xyz").write_text("2\n\nC 0 0 0\nC 0 0 0.2\n")
    good = """name: mine
method: screening
quantities:
  - {name: PC in my cage, kind: binding, host: {file: cage.xyz, name: my-cage}, guest: PC,
     sites: endo}
"""
    (workdir / "good.yaml").write_text(good)
    r = subprocess.run([sys.executable, "-m", "screening.cli", "validate", "good.yaml"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "of my-cage (168 atoms)" in r.stdout
    for case, host, expect in (
            ("junk", "{file: junk.xyz}", "quantities[0].host.file"),
            ("close", "{file: close.xyz}", "overlapping"),
            ("parity", "{file: cage.xyz, charge: 1}", "quantities[0].host.multiplicity"),
            ("missing", "{file: nothere.xyz}", "file not found")):
        (workdir / f"{case}.yaml").write_text(good.replace("{file: cage.xyz, name: my-cage}",
                                                           host))
        r = subprocess.run([sys.executable, "-m", "screening.cli", "run", f"{case}.yaml"],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 2, (case, r.stderr)
        assert f"{case}.yaml:4:" in r.stderr and expect in r.stderr, (case, r.stderr)
    assert not (workdir / "results").exists()
