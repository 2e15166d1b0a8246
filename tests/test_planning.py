"""Memory planning (density fitting vs direct SCF) and the fragment initial guess."""

from __future__ import annotations

import pytest

from screening.engines import planning
from screening.engines.pyscf import fragment_guess
from screening.engines.pyscf import compute
from screening.geometry import Molecule
from screening.methods import get_method

from .conftest import LI_H2O


def test_default_memory_is_shared_among_workers():
    """Two calculations side by side never each take 60 % of the machine's memory."""
    from screening.engines.pyscf import default_max_memory_mb
    from screening.settings import Settings

    one = default_max_memory_mb(Settings(workers=1))
    two = default_max_memory_mb(Settings(workers=2))
    assert two == pytest.approx(one / 2, abs=1)
    assert default_max_memory_mb(Settings(workers=2, max_memory_mb=5000)) == 5000  # as given


def test_df_tensor_size_of_a_cage_complex():
    """CC3 ⊃ TFSI⁻ at def2-SVP: ~1,800 AOs, ~8,000 auxiliary functions: ~100 GB packed."""
    gb = planning.df_tensor_bytes(1800, 8000) / 1e9
    assert 95 < gb < 110
    plan = planning.choose(1800, 8000, available=80 * 10**9, requested_df=True)  # one H100
    assert not plan.density_fit and "direct SCF" in plan.reason
    small = planning.choose(218, 1000, available=20 * 10**9, requested_df=True)  # TFSI⁻
    assert small.density_fit and small.df_tensor_gb < 0.2


def test_engine_goes_direct_when_df_does_not_fit(monkeypatch):
    water = Molecule.from_arrays(["O", "H", "H"], [[0, 0, 0], [0, 0.757, 0.587],
                                                   [0, -0.757, 0.587]])
    meth = get_method("screening")
    with_df = compute(water, meth)
    monkeypatch.setattr(planning, "available_bytes", lambda device, max_memory_mb=0: 1000)
    direct = compute(water, meth)
    assert with_df.scf_plan["density_fit"] and not direct.scf_plan["density_fit"]
    assert "exceeds" in direct.scf_plan["reason"]
    # density fitting error of def2-universal-jkfit: well below 1e-4 Eh, but not zero
    assert direct.energy == pytest.approx(with_df.energy, abs=1e-4)
    assert direct.energy != with_df.energy


@pytest.mark.slow
def test_fragment_guess_saves_cycles():
    li_h2o = Molecule.from_arrays(*LI_H2O, charge=1)
    meth = get_method("screening")
    default = compute(li_h2o, meth)
    guess = fragment_guess(li_h2o, [((0,), 1, 1), ((1, 2, 3), 0, 1)], meth)
    guided = compute(li_h2o, meth, dm0=guess)
    assert guided.energy == pytest.approx(default.energy, abs=1e-7)
    assert guided.scf_cycles < default.scf_cycles
