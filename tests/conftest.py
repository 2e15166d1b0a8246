"""Shared fixtures. FireWorks is pointed at a throw-away embedded store before it is imported."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest

_SESSION_DIR = Path(tempfile.mkdtemp(prefix="screening-tests-"))
(_SESSION_DIR / "store.json").write_text("{}")
os.environ["MONGOMOCK_SERVERSTORE_FILE"] = str(_SESSION_DIR / "store.json")
os.environ.setdefault("SCREENING_DEVICE", "cpu")
os.environ.pop("SCREENING_DB", None)
# hosts a test builds go to a throw-away cache, not the user's
os.environ["SCREENING_CACHE_DIR"] = str(_SESSION_DIR / "cache")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


@pytest.fixture
def workdir(tmp_path, monkeypatch) -> Path:
    """A fresh working directory (relative defaults such as results/ land here)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write_xyz_text(path: Path, symbols, positions, charge=0, multiplicity=1) -> Path:
    lines = [str(len(symbols)), f"charge={charge} multiplicity={multiplicity}"]
    lines += [f"{s} {x:.6f} {y:.6f} {z:.6f}" for s, (x, y, z) in zip(symbols, positions)]
    path.write_text("\n".join(lines) + "\n")
    return path


LI_H2O = (["Li", "O", "H", "H"], [[0, 0, -1.85], [0, 0, 0], [0, 0.763, 0.59], [0, -0.763, 0.59]])
WATER = (["O", "H", "H"], [[0, 0, 0], [0, 0.757, 0.587], [0, -0.757, 0.587]])


def water_dimer():
    from ase.data.s22 import create_s22_system

    a = create_s22_system("Water_dimer")
    return a.get_chemical_symbols(), a.positions.tolist()


LI_WATER_STRUCTURES = """structures:
  water:
    file: h2o.xyz
  Li+H2O:
    file: li_h2o.xyz
    charge: 1
    fragments:
      - {name: Li+, atoms: [0], charge: 1, reference: Li+}
      - {name: H2O, atoms: "1-3", reference: water}
"""
"""The ``structures:`` block of Li+·H2O (li_h2o.xyz) and water (h2o.xyz) in a campaign file."""


def small_campaign(folder: Path, basis: str = "def2-svp", name: str = "tiny",
                   with_dimer: bool = False) -> Path:
    """A campaign: Li+·H2O binding (counterpoise, relaxed water reference) [+ water dimer]."""
    write_xyz_text(folder / "li_h2o.xyz", *LI_H2O, charge=1)
    write_xyz_text(folder / "h2o.xyz", *WATER)
    text = f"""name: {name}
method: {{preset: screening, basis: {basis}}}
counterpoise: true
""" + LI_WATER_STRUCTURES
    quantities = "quantities:\n  - {name: Li+ binding to water, kind: binding, complex: Li+H2O}\n"
    if with_dimer:
        write_xyz_text(folder / "dimer.xyz", *water_dimer())
        text += """  dimer:
    file: dimer.xyz
    fragments:
      - {name: donor, atoms: "0-2"}
      - {name: acceptor, atoms: "3-5"}
"""
        quantities += "  - {name: water dimer, kind: binding, complex: dimer}\n"
    path = folder / f"{name}.yaml"
    path.write_text(text + quantities)
    return path


def pyscf_reference(mol, xc: str, basis: str, dispersion: str | None = None,
                    density_fit: bool = True, pcm_eps: float | None = None, grid_level: int = 3):
    """The energy (Hartree) of a Molecule computed by calling PySCF directly, independently of
    the product's engine: (energy, <S^2> or None, the mean-field object). Ghost atoms carry
    their basis functions only. ``grid_level``: the method's, when it is not PySCF's default 3."""
    from pyscf import dft, gto, scf

    atoms = []
    for i, (s, p) in enumerate(zip(mol.symbols, mol.positions)):
        label = f"GHOST-{s}" if i in set(mol.ghosts) else s
        atoms.append(f"{label} {p[0]:.10f} {p[1]:.10f} {p[2]:.10f}")
    m = gto.M(atom="; ".join(atoms), basis=basis, charge=mol.charge,
              spin=mol.multiplicity - 1, unit="Angstrom", verbose=0)
    if xc.lower() == "hf":
        mf = scf.RHF(m) if m.spin == 0 else scf.UHF(m)
    else:
        mf = dft.RKS(m) if m.spin == 0 else dft.UKS(m)
        mf.xc = xc
        mf.grids.level = grid_level
    if density_fit:
        mf = mf.density_fit()
    if dispersion:
        mf.disp = dispersion
    if pcm_eps is not None:
        mf = mf.PCM()
        mf.with_solvent.eps = pcm_eps
    mf.conv_tol = 1e-11
    energy = mf.kernel()
    s2 = None if m.spin == 0 and not isinstance(mf, (scf.uhf.UHF,)) else mf.spin_square()[0]
    return float(energy), s2, mf
