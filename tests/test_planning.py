"""Memory planning (density fitting vs direct SCF) and the fragment initial guess."""

from __future__ import annotations

import os

import pytest

from screening.engines import planning
from screening.engines.pyscf import compute
from screening.geometry import Molecule
from screening.methods import get_method



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
    # on a CPU the tensor goes to disk where memory is short, and direct SCF only where the
    # disk is short too
    cpu = planning.choose(1800, 8000, available=14 * 10**9, requested_df=True, disk=200 * 10**9)
    assert cpu.density_fit and cpu.df_on_disk and "on disk" in cpu.reason
    full = planning.choose(1800, 8000, available=14 * 10**9, requested_df=True, disk=50 * 10**9)
    assert not full.density_fit and "of disk: direct SCF" in full.reason


def test_df_tensor_on_disk_gives_the_in_memory_energy():
    """A calculation whose memory budget cannot hold the DF tensor keeps density fitting with
    the tensor on disk (PySCF's outcore path), to the same energy, rather than going direct."""
    water = Molecule.from_arrays(["O", "H", "H"], [[0, 0, 0], [0, 0.757, 0.587],
                                                   [0, -0.757, 0.587]])
    meth = get_method("screening")
    in_memory = compute(water, meth)
    on_disk = compute(water, meth, max_memory_mb=1)
    assert not in_memory.scf_plan["df_on_disk"]
    assert on_disk.scf_plan["density_fit"] and on_disk.scf_plan["df_on_disk"]
    assert on_disk.energy == pytest.approx(in_memory.energy, abs=1e-9)


def test_workers_side_by_side_plan_alike(monkeypatch):
    """The plan rests on the calculation's memory budget, not on the memory free at the moment:
    a worker that starts while another holds most of the machine plans as the first did."""
    water = Molecule.from_arrays(["O", "H", "H"], [[0, 0, 0], [0, 0.757, 0.587],
                                                   [0, -0.757, 0.587]])
    meth = get_method("screening")
    first = compute(water, meth, max_memory_mb=2000)
    sysconf = os.sysconf
    monkeypatch.setattr(os, "sysconf", lambda name: 1 if "AVPHYS" in name else
                        sysconf(name))  # one free page left on the host
    second = compute(water, meth, max_memory_mb=2000)
    assert second.scf_plan["density_fit"] == first.scf_plan["density_fit"] is True
    assert not second.scf_plan["df_on_disk"]


def test_engine_goes_direct_when_df_does_not_fit(monkeypatch):
    water = Molecule.from_arrays(["O", "H", "H"], [[0, 0, 0], [0, 0.757, 0.587],
                                                   [0, -0.757, 0.587]])
    meth = get_method("screening")
    with_df = compute(water, meth)
    monkeypatch.setattr(planning, "available_bytes", lambda device, max_memory_mb=0: 1000)
    monkeypatch.setattr(planning, "disk_bytes", lambda: 1000)
    direct = compute(water, meth)
    assert with_df.scf_plan["density_fit"] and not direct.scf_plan["density_fit"]
    assert "exceeds" in direct.scf_plan["reason"]
    # density fitting error of def2-universal-jkfit: well below 1e-4 Eh, but not zero
    assert direct.energy == pytest.approx(with_df.energy, abs=1e-4)
    assert direct.energy != with_df.energy


def test_a_long_scf_says_where_it_stands(monkeypatch, capsys):
    """Every SCF cycle past the progress interval prints its cycle, energy and change; with the
    default interval (minutes) a seconds-long SCF prints nothing."""
    from screening.engines import pyscf as engine

    water = Molecule.from_arrays(["O", "H", "H"], [[0, 0, 0], [0, 0.757, 0.587],
                                                   [0, -0.757, 0.587]], name="water")
    meth = get_method("screening")
    compute(water, meth)
    assert "SCF cycle" not in capsys.readouterr().out
    monkeypatch.setattr(engine, "SCF_PROGRESS_S", 0.0)
    result = compute(water, meth)
    lines = [ln for ln in capsys.readouterr().out.splitlines() if "SCF cycle" in ln]
    assert len(lines) == result.scf_cycles
    assert lines[0].strip().startswith("water: SCF cycle 1 (diis), E = ")
    assert f"{result.energy:.8f}" in lines[-1]
    # second-order SCF, the ladder's last step, names its cycle otherwise (imacro)
    mf = engine.build_scf(engine.build_mol(water, meth), meth).newton()
    mf.callback = engine.ScfProgress("water")
    mf.callback.strategy = "newton"
    mf.kernel()
    lines = [ln for ln in capsys.readouterr().out.splitlines() if "SCF cycle" in ln]
    assert lines and lines[0].strip().startswith("water: SCF cycle 1 (newton)")
