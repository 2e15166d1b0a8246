"""Stored converged densities as SCF starts (screening.engines.densities), with the real PySCF on
water, Li⁺·H₂O and the Li·H₂O radical (the size limit lowered so that molecules this small
count)."""

from __future__ import annotations

import numpy as np
import pytest

from screening.engines import densities
from screening.engines.densities import DensityStore
from screening.engines.pyscf import compute
from screening.geometry import Molecule
from screening.methods import get_method
from screening.settings import Settings

from .conftest import LI_H2O, WATER

METHOD = get_method("screening")


@pytest.fixture
def small_counts(monkeypatch):
    """Every molecule counts as big enough to store and to be guessed."""
    monkeypatch.setattr(densities, "MIN_NAO", 0)


def settings_in(folder) -> Settings:
    return Settings(cache_dir=str(folder), threads=1, device="cpu")


def test_complex_starts_from_its_fragment_and_converges_to_the_same_energy(tmp_path,
                                                                          small_counts):
    """Li⁺·H₂O after H₂O: the SCF starts from water's stored density (its three atoms, Li keeps
    its minao block) and ends at the minao-started energy to the SCF tolerance. Water listed in
    another atom order starts from its own stored density, so converged at once (the blocks
    follow the atoms). Water in the complex's basis (a ghost Li) starts from a stored density
    too; the ghost one is not stored."""
    li_h2o = Molecule.from_arrays(*LI_H2O, charge=1)
    minao = compute(li_h2o, METHOD, settings=settings_in(tmp_path / "a"))
    assert minao.scf_guess is None  # nothing stored yet in this cache

    water_in_complex = Molecule.from_arrays(LI_H2O[0][1:], LI_H2O[1][1:], name="water")
    fresh = settings_in(tmp_path / "c")
    compute(water_in_complex, METHOD, settings=fresh)
    guided = compute(li_h2o, METHOD, settings=fresh)
    assert guided.scf_guess["densities"][0]["atoms"] == 3
    assert guided.scf_guess["real_atoms"] == 4
    assert guided.energy == pytest.approx(minao.energy, abs=1e-7)
    assert guided.scf_cycles <= minao.scf_cycles
    reordered = Molecule.from_arrays([LI_H2O[0][i] for i in (2, 1, 3)],
                                     [LI_H2O[1][i] for i in (2, 1, 3)])
    again = compute(reordered, METHOD, settings=fresh)
    first = compute(reordered, METHOD, settings=settings_in(tmp_path / "e"))
    assert again.scf_guess["densities"][0]["atoms"] == 3
    assert again.scf_cycles <= 2 < first.scf_cycles
    assert again.energy == pytest.approx(first.energy, abs=1e-8)

    ghost_li = Molecule.from_arrays(*LI_H2O, charge=0, ghosts=[0])
    plain = compute(ghost_li, METHOD, settings=settings_in(tmp_path / "d"))
    from_complex = compute(ghost_li, METHOD, settings=fresh)
    assert from_complex.scf_guess is not None
    assert from_complex.energy == pytest.approx(plain.energy, abs=1e-7)
    # water (twice: two atom orders, two keys) and the complex; the ghost one is not kept
    assert len(DensityStore.of(fresh).stored(METHOD)) == 3


def test_open_shell_starts_from_a_closed_shell_fragment(tmp_path, small_counts):
    """The neutral Li·H₂O doublet (UKS) from water's restricted density: α and β each get half
    of it, and the SCF ends where the minao-started one does."""
    radical = Molecule.from_arrays(*LI_H2O, charge=0, multiplicity=2)
    minao = compute(radical, METHOD, settings=settings_in(tmp_path / "a"))
    cache = settings_in(tmp_path / "b")
    compute(Molecule.from_arrays(LI_H2O[0][1:], LI_H2O[1][1:]), METHOD, settings=cache)
    guided = compute(radical, METHOD, settings=cache)
    assert guided.scf_guess is not None and guided.s2 == pytest.approx(minao.s2, abs=1e-4)
    assert guided.energy == pytest.approx(minao.energy, abs=1e-7)


def test_small_molecules_gradients_and_moved_atoms_leave_the_store_alone(tmp_path,
                                                                          monkeypatch):
    """At the real size limit a water molecule stores nothing; a gradient call neither stores
    nor guesses; a stored density whose atoms moved by more than the tolerance is not used; a
    damaged file in the folder is passed over."""
    cache = settings_in(tmp_path)
    water = Molecule.from_arrays(*WATER)
    compute(water, METHOD, settings=cache)
    assert DensityStore.of(cache).stored(METHOD) == []
    monkeypatch.setattr(densities, "MIN_NAO", 0)
    compute(water, METHOD, gradient=True, settings=cache)
    assert DensityStore.of(cache).stored(METHOD) == []
    compute(water, METHOD, settings=cache)
    shifted = Molecule.from_arrays(WATER[0], np.asarray(WATER[1]) + [1e-3, 0, 0])
    assert compute(shifted, METHOD, settings=cache).scf_guess is None
    assert compute(water, METHOD, settings=cache).scf_guess is not None
    folder = DensityStore.of(cache).stored(METHOD)[0].path.parent
    (folder / "damaged.npz").write_bytes(b"not a zip file")
    assert len(DensityStore.of(cache).stored(METHOD)) == 2
    assert compute(water, METHOD, settings=cache).scf_guess is not None


def test_folder_keeps_to_its_size_limit(tmp_path, small_counts, monkeypatch):
    """Past MAX_BYTES the oldest density file is removed; the newest is always kept."""
    cache = settings_in(tmp_path)
    compute(Molecule.from_arrays(*WATER), METHOD, settings=cache)
    first = DensityStore.of(cache).stored(METHOD)[0].path
    monkeypatch.setattr(densities, "MAX_BYTES", first.stat().st_size + 1)
    compute(Molecule.from_arrays(LI_H2O[0][1:], LI_H2O[1][1:]), METHOD, settings=cache)
    kept = [d.path for d in DensityStore.of(cache).stored(METHOD)]
    assert len(kept) == 1 and kept[0] != first


def test_pipeline_computes_ghost_free_structures_first():
    """The local pool takes the complex and the fragments in their own basis before the
    counterpoise terms (ghost atoms), so those start from stored densities; largest first in
    each group."""
    from screening.pipeline.local import computing_order

    li_h2o = Molecule.from_arrays(*LI_H2O, charge=1, name="complex")
    terms = [Molecule.from_arrays(*LI_H2O, charge=0, ghosts=[0], name="water in complex basis"),
             Molecule.from_arrays(*LI_H2O, charge=1, ghosts=[1, 2, 3], name="Li+ in complex basis"),
             Molecule.from_arrays(["Li"], [[0, 0, 0]], charge=1, name="Li+"),
             li_h2o,
             Molecule.from_arrays(LI_H2O[0][1:], LI_H2O[1][1:], name="water")]
    order = computing_order([(m.to_dict(), {}, {}) for m in terms])
    assert [t[0]["name"] for t in order] == ["complex", "water", "Li+", "water in complex basis",
                                              "Li+ in complex basis"]
