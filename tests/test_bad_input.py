"""Bad input is refused before any compute: clear message (file, line, field), exit 2, nothing written."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from ase import Atoms

from screening.cli import main
from screening.errors import InputError, wrong_kind
from screening.geometry import read_xyz
from screening.methods import get_method

from .conftest import small_campaign, write_xyz_text


def run_cli(args: list[str], capsys) -> tuple[int, str]:
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.err + captured.out


def mutate(path: Path, old: str, new: str) -> Path:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new))
    return path


CASES = {
    # name: (old text, new text, expected message fragment, expected "file:line:" fragment)
    "unknown species reference": ("reference: Li+}", "reference: Xe+}", "unknown structure 'Xe+'",
                                  ":11: structures.Li+H2O.fragments.Li+.reference"),
    "unknown preset": ("{preset: screening, basis: def2-svp}", "fast", "unknown method preset "
                       "'fast'", ":2: method"),
    "unknown functional": ("{preset: screening, basis: def2-svp}",
                           "{preset: screening, functional: b3lypp}", "unknown functional 'b3lypp'",
                           ":2: method.functional"),
    "unknown basis": ("basis: def2-svp}", "basis: def2-svpp}", "unknown basis set 'def2-svpp'",
                      ":2: method.basis"),
    "fragments miss an atom": ('atoms: "1-3"', 'atoms: "1-2"', "atoms [3] belong to no fragment",
                               ":11: structures.Li+H2O.fragments"),
    "fragments overlap": ('atoms: "1-3"', 'atoms: "0-3"', "atom 0 is in both 'Li+' and 'H2O'",
                          ":12: structures.Li+H2O.fragments[1].atoms"),
    "index out of range": ('atoms: "1-3"', 'atoms: "1-4"', "atom index 4 out of range",
                           ":12: structures.Li+H2O.fragments[1].atoms"),
    "fragment spin": ("charge: 1, reference", "charge: 1, multiplicity: 2, reference",
                         "fragment 'Li+'", ":11: structures.Li+H2O.fragments[0]"),
    "fragment charge sum": ("{name: H2O, atoms: \"1-3\", reference: water}",
                            "{name: H2O, atoms: \"1-3\", charge: 2, multiplicity: 1}",
                            "add up to +3", ":11: structures.Li+H2O.fragments"),
    "unknown key": ("counterpoise: true", "counterpoise: true\nworkers: 3", "unknown key 'workers'",
                    ":4: workers"),
    "malformed yaml": ("quantities:\n", "quantities:\n  - {name: [unclosed\n", "malformed YAML",
                       "tiny.yaml:"),
    "unknown kind": ("kind: binding", "kind: bindng", "kind must be one of", ":14: quantities[0].kind"),
    "missing structure file": ("file: li_h2o.xyz", "file: nothere.xyz", "file not found",
                               "structures.Li+H2O.file"),
    "wrong parity": ("    charge: 1\n", "    charge: 2\n", "do not fit", "li_h2o.xyz"),
    "grid level as text": ("basis: def2-svp}", "basis: def2-svp, grid_level: fine}",
                           "must be an integer, got 'fine'", ":2: method.grid_level"),
    "convergence threshold as a word": ("basis: def2-svp}", "basis: def2-svp, conv_tol: tight}",
                                        "must be a number, got 'tight'", ":2: method.conv_tol"),
    "functional as a number": ("{preset: screening, basis: def2-svp}",
                               "{preset: screening, functional: 3}", "must be text, got 3",
                               ":2: method.functional"),
    "density fitting as a word": ("basis: def2-svp}", "basis: def2-svp, density_fit: maybe}",
                                  "must be true or false", ":2: method.density_fit"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_campaign_refused_with_location(case, workdir, capsys):
    old, new, message, where = CASES[case]
    path = mutate(small_campaign(workdir), old, new)
    code, out = run_cli(["run", str(path)], capsys)
    assert code == 2, out
    assert message in out, out
    assert where in out, out
    assert not (workdir / "results").exists()  # nothing written, nothing computed


@pytest.mark.parametrize("lines,message,line", [
    (["3", "", "O 0 0 0", "H 0 0.757 0.587"], "header says 3 atoms", 4),
    (["two", "", "O 0 0 0"], "first line must be the number of atoms", 1),
    (["2", "", "O 0 0 0", "Qq 0 0 1"], "unknown element symbol 'Qq'", 4),
    (["2", "", "O 0 0 0", "H 0 0 x"], "coordinates must be numbers", 4),
    (["2", "", "H 0 0 0", "H 0 0.3 0"], "closer than 0.5 Å", None),
    (["1", "charge=0 multiplicity=1", "H 0 0 0"], "do not fit", None),
    (["1", "", "H 0 0 0", "H 0 0 1"], "non-empty line(s) after the 1 atoms", 4),
])
def test_malformed_xyz(tmp_path, lines, message, line):
    p = tmp_path / "m.xyz"
    p.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError) as err:
        read_xyz(p)
    assert message in str(err.value)
    assert str(p) in str(err.value)
    if line:
        assert err.value.line == line


def test_overlapping_atoms_in_campaign_structure(workdir, capsys):
    path = small_campaign(workdir)
    write_xyz_text(workdir / "li_h2o.xyz", ["Li", "O", "H", "H"],
                   [[0, 0, -0.3], [0, 0, 0], [0, 0.763, 0.59], [0, -0.763, 0.59]], charge=1)
    code, out = run_cli(["validate", str(path)], capsys)
    assert code == 2 and "atoms 1 (Li) and 2 (O) on lines 3 and 4 are 0.300 Å apart" in out
    assert "li_h2o.xyz:4:" in out
    assert "structures.Li+H2O.file" in out


def test_fragment_from_file_and_reference_mismatch(workdir, capsys):
    path = small_campaign(workdir)
    write_xyz_text(workdir / "frag.xyz", ["O", "H", "H"],
                   [[0, 0, 0], [0, 0.763, 0.59], [0, -0.763, 0.59]])
    mutate(path, '{name: H2O, atoms: "1-3", reference: water}',
           "{name: H2O, file: frag.xyz, reference: water}")
    assert run_cli(["validate", str(path)], capsys)[0] == 0
    mutate(path, "reference: water}", "reference: PC}")
    code, out = run_cli(["validate", str(path)], capsys)
    assert code == 2 and "reference 'PC'" in out and "is not the fragment" in out


def test_cif_malformed(tmp_path):
    from screening.geometry import read_structure

    p = tmp_path / "bad.cif"
    p.write_text("data_x\n_cell_length_a ten\nloop_\n_atom_site_label\n")
    with pytest.raises(InputError, match="bad.cif"):
        read_structure(p)


def test_method_errors():
    with pytest.raises(InputError, match="unknown method option 'bassis'"):
        get_method({"bassis": "sto-3g"})
    with pytest.raises(InputError, match="PCM needs solvent_eps"):
        get_method({"solvent": "pcm"})
    with pytest.raises(InputError, match="unknown dispersion 'd5'"):
        get_method({"dispersion": "d5"})
    # YAML reads 1e-9 (no dot) as text: taken as the number it spells, not refused or crashed on
    assert get_method({"conv_tol": "1e-10"}).conv_tol == 1e-10
    with pytest.raises(InputError, match="must be an integer or null"):
        get_method({"nlc_grid_level": 1.5})


@pytest.mark.parametrize("content, byte", [(bytes(range(256)) * 2, "byte 128"),
                                           (b"name: x\nmethod: screening\ndescription: caf\xe9\n",
                                            "byte 42")])
def test_campaign_that_is_not_utf8_text(workdir, capsys, content, byte):
    """Binary or Latin-1 bytes: one sentence naming the file and the byte, exit 2."""
    (workdir / "bad.yaml").write_bytes(content)
    code, out = run_cli(["validate", "bad.yaml"], capsys)
    assert code == 2 and "bad.yaml: not a UTF-8 text file" in out and byte in out, out


API_CASES = {  # (call, field named, words in the message); refused before any host is built
    "no poses": (lambda sc: sc.place("CC3", "TFSI-", poses=0), "poses", ">= 1, got 0"),
    "keep nothing": (lambda sc: sc.place("CC3", "TFSI-", keep=0), "keep", ">= 1, got 0"),
    "no guest": (lambda sc: sc.place("CC3", []), "guest", "got []"),
    "loose threshold < 0": (lambda sc: sc.place("CC3", "PC", screen_fmax=-0.3), "screen_fmax",
                            "> 0"),
    "no shell candidates": (lambda sc: sc.shell("Li+", ["EC"], candidates=0), "candidates",
                            ">= 1"),
    "shell of nothing": (lambda sc: sc.shell("Li+", [3]), "ligands", "species name"),
    "separation < 0": (lambda sc: sc.ion_pair("SiO2", separation=-1.0), "separation", "> 0"),
    "separation nan": (lambda sc: sc.ion_pair("SiO2", separation=float("nan")), "separation",
                       "got nan"),
    "salt of one": (lambda sc: sc.ion_pair("SiO2", "Li+"), "salt", "two species"),
    "carve 0": (lambda sc: sc.hop("CC3-pair", "imine_N:11", "imine_N:23", carve=0), "carve",
                "> 0"),
    "unknown filter": (lambda sc: sc.results(fromula="H2O"), "fromula", "no such filter"),
    "no names to size": (lambda sc: sc.sizes([]), "names", "got []"),
    "labels not a dict": (lambda sc: sc.energy(sc.species_atoms("H2O"), labels="job"), "labels",
                          "dict"),
    "unknown optimizer": (lambda sc: sc.place("PVDF-HFP", "Li+", optimizer="lbfgs"),
                          "optimizer", "unknown optimizer 'lbfgs'; use one of bfgs, tric"),
    "unknown pre-relaxation": (lambda sc: sc.place("PVDF-HFP", "Li+", prerelax="uff"),
                               "prerelax", "unknown force field 'uff'; use one of gfn-ff"),
    "unknown screen": (lambda sc: sc.place("PVDF-HFP", "Li+", screen="uff"),
                       "screen", "unknown force field 'uff'; use one of gfn-ff"),
    "two funnels": (lambda sc: sc.place("PVDF-HFP", "PC", screen="gfn-ff", screen_fmax=0.3),
                    "screen", "screen: gfn-ff is the funnel's first stage and relaxes every "
                              "candidate with gfn-ff; drop screen_fmax"),
    "host option of the wrong type": (lambda sc: sc.place("PVDF-HFP", "Li+", units="two"),
                                      "units", "must be an integer, got 'two'"),
    "coordinates not finite": (lambda sc: sc.energy(
        Atoms("H2", positions=[[0, 0, 0], [0, 0, np.nan]]), method="screening"),
        "positions", "atom 2: coordinates must be finite"),
}


@pytest.mark.parametrize("case", sorted(API_CASES))
def test_api_refuses_bad_arguments(case):
    """The Python API checks counts, lengths and names as the campaign reader does, naming the
    argument, instead of a misleading failure (poses=0 read as 'cannot be placed without
    clashes'), a traceback, or a silent result (keep=0 gave [], separation=-1 a structure)."""
    import screening.api as sc

    call, field, words = API_CASES[case]
    with pytest.raises(InputError) as err:
        call(sc)
    assert err.value.field == field and words in str(err.value), str(err.value)


def test_api_unknown_structure_key_is_named(tmp_path):
    import screening.api as sc
    from screening.store import ResultStore

    ResultStore(tmp_path / "r.db")
    with pytest.raises(InputError, match="no stored calculation has the key 'deadbeef'"):
        sc.structure("deadbeef", db=tmp_path / "r.db")


def test_export_to_a_bad_place_is_refused(tmp_path, capsys):
    """An export file in a folder that cannot be made is a fault of the environment (exit 3),
    one given as a folder is bad input (exit 2); neither writes anything."""
    from screening.store import ResultStore

    ROOT = Path(__file__).resolve().parents[1]
    db = tmp_path / "r.db"
    ResultStore(db)
    blocker = tmp_path / "file.txt"
    blocker.write_text("a file, not a folder")
    code, out = run_cli(["export", str(ROOT / "workflows/quickstart.yaml"), "-o",
                         str(blocker / "x.json"), "--db", str(db)], capsys)
    assert code == 3 and "export folder" in out and "cannot be made" in out, out
    code, out = run_cli(["export", str(ROOT / "workflows/quickstart.yaml"), "-o", str(tmp_path),
                         "--db", str(db)], capsys)
    assert code == 2 and "is a folder" in out, out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt", "r.db"]


def test_report_of_a_missing_campaign_names_the_campaign(tmp_path, capsys, monkeypatch):
    """`screening report` with a campaign file that is not there says so (exit 2), also where
    there is no results database either (that was reported first, exit 3)."""
    monkeypatch.chdir(tmp_path)
    code, out = run_cli(["report", "nothere.yaml"], capsys)
    assert code == 2 and "nothere.yaml: campaign file not found" in out, out
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("value, kind, problem", [
    (2, int, None), (np.int64(2), int, None), (True, int, "must be an integer, got True"),
    (1.5, int, "must be an integer, got 1.5"), (np.True_, bool, None),
    (1, bool, "must be true or false, got 1"), (3, float, None),
    (float("nan"), float, "must be a number, got nan"), ("PC", str, None)])
def test_one_kind_check_for_every_input(value, kind, problem):
    """The one check behind campaign, method, host-option and API arguments: numpy scalars are
    their kind, a flag is not a number, a number must be finite."""
    assert wrong_kind(value, kind) == problem


def test_method_options_take_numpy_numbers_and_refuse_nan():
    method = get_method({"grid_level": np.int64(2), "conv_tol": np.float64(1e-9)})
    assert type(method.grid_level) is int and method.grid_level == 2
    assert type(method.conv_tol) is float
    with pytest.raises(InputError, match="conv_tol: must be a number, got nan"):
        get_method({"conv_tol": float("nan")})
