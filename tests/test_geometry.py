"""Molecules: content keys, round trips, cif reading, method keys."""

from __future__ import annotations

from screening.geometry import Molecule, read_structure, read_xyz, write_xyz
from screening.methods import PRESETS, get_method

CIF = """data_water
_cell_length_a 10
_cell_length_b 10
_cell_length_c 10
_cell_angle_alpha 90
_cell_angle_beta 90
_cell_angle_gamma 90
_symmetry_space_group_name_H-M 'P 1'
loop_
_atom_site_label
_atom_site_type_symbol
_atom_site_fract_x
_atom_site_fract_y
_atom_site_fract_z
O1 O 0.5 0.5 0.5
H1 H 0.5 0.5757 0.5587
H2 H 0.5 0.4243 0.5587
"""


def test_key_survives_round_trips(tmp_path):
    m = Molecule.from_arrays(["O", "H", "H"], [[0, 0, 0], [0, 0.757, 0.587], [0, -0.757, 0.587]],
                             name="w")
    write_xyz(m, tmp_path / "w.xyz")
    assert read_xyz(tmp_path / "w.xyz").key() == m.key()
    assert Molecule.from_dict(m.to_dict()).key() == m.key()
    assert m.subset((0, 1, 2), 0, 1, ghost_rest=True).key() == m.key()  # nothing to ghost
    ghosted = Molecule.from_arrays(m.symbols, m.positions, 0, 2, ghosts=[2])
    assert ghosted.key() != m.key() and ghosted.nelectrons == 9


def test_cif_gives_cell_atoms(tmp_path):
    (tmp_path / "w.cif").write_text(CIF)
    mol = read_structure(tmp_path / "w.cif")
    assert mol.formula == "H2O" and mol.natoms == 3


def test_method_key_ignores_labels_only():
    a = PRESETS["screening"]
    assert a.with_options(name="x", counterpoise=True).key() == a.key()
    assert a.with_options(basis="def2-tzvp").key() != a.key()
    assert get_method({"preset": "screening", "basis": "def2-tzvp"}).name == "screening+"
    assert PRESETS["refine"].label == "ωB97M-V/def2-TZVPP"


def test_method_label_names_a_grid_other_than_the_default():
    """Two levels differing only in the quadrature grid never print the same label."""
    assert PRESETS["screening"].label == "B3LYP-D3BJ/def2-SVP (grid 1)"
    assert PRESETS["screening-grid3"].label == "B3LYP-D3BJ/def2-SVP"
    oniom = get_method({"preset": "screening", "oniom": {"low": "gfn2-xtb", "radius": 4.0}})
    assert oniom.label == "ONIOM(B3LYP-D3BJ/def2-SVP (grid 1):GFN2-xTB, 4 Å)"
