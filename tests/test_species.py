"""The species library: every entry loads, matches its SMILES, and is reproducible."""

from __future__ import annotations

import numpy as np
import pytest
from rdkit import Chem
from rdkit.Chem.rdMolDescriptors import CalcMolFormula

from screening.errors import InputError
from screening.geometry import bonded_pairs
from screening.species import LIBRARY, build_from_smiles, get_species, tfsi_conformer

REQUIRED = {"Li+", "Na+", "K+", "TFSI-", "TFSI-cis", "PF6-", "PC", "EC", "DMC", "DEC", "FEC",
            "H2O"}


def hill(formula: str) -> str:
    """RDKit's formula (e.g. ``C2F6NO4S2-``) without its charge, in Hill order."""
    import re

    from ase.formula import Formula

    return Formula(re.sub(r"[+-]\d*$", "", formula)).format("hill")


def test_library_covers_the_issue():
    assert REQUIRED <= {s.name for s in LIBRARY}


@pytest.mark.parametrize("sp", LIBRARY, ids=lambda s: s.name)
def test_species_matches_its_smiles(sp):
    mol = sp.molecule()  # validated: elements, no overlaps, charge/multiplicity parity
    rd = Chem.AddHs(Chem.MolFromSmiles(sp.smiles))
    assert Chem.GetFormalCharge(rd) == sp.charge == mol.charge
    assert mol.to_atoms().get_chemical_formula(mode="hill") == hill(CalcMolFormula(rd))
    # bonded graph has as many bonds as the SMILES (no broken or extra bonds after relaxation)
    assert len(bonded_pairs(mol)) == rd.GetNumBonds()


def test_tfsi_conformers():
    assert tfsi_conformer(get_species("TFSI-").molecule()) == "trans"
    assert tfsi_conformer(get_species("TFSI-cis").molecule()) == "cis"


def test_build_from_smiles_is_deterministic():
    a = build_from_smiles("O=C1OCCO1", seed=7)[0]
    b = build_from_smiles("O=C1OCCO1", seed=7)[0]
    assert np.allclose(a.positions, b.positions)


def test_aliases_and_unknown():
    assert get_species("tfsi").name == "TFSI-"
    with pytest.raises(InputError, match="unknown species 'LiPF7'"):
        get_species("LiPF7")


def test_species_and_validate_commands(capsys):
    from screening.cli import main

    assert main(["species"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in REQUIRED)
    from .conftest import ROOT

    assert main(["validate", str(ROOT / "workflows/quickstart.yaml")]) == 0
    out = capsys.readouterr().out
    assert "campaign 'quickstart' is valid: 7 quantities" in out and "with counterpoise" in out
