"""What the two geomeTRIC drivers share (DFT relaxations in :mod:`.pyscf`, GFN2-xTB pose
relaxations in :mod:`.xtb`): quiet logging and frozen atoms."""

from __future__ import annotations

from pathlib import Path

GEOMETRIC_LOG_INI = str(Path(__file__).with_name("geometric_quiet.ini"))
"""geomeTRIC logging configuration: warnings and errors only, on stderr."""


def freeze_constraints(folder: str | Path, fixed: list[int] | tuple[int, ...]) -> str | None:
    """A geomeTRIC constraints file in ``folder`` freezing the 0-based atoms ``fixed`` (its
    path), or None when no atom is fixed."""
    if not fixed:
        return None
    path = Path(folder) / "constraints.txt"
    path.write_text("$freeze\nxyz " + ",".join(str(i + 1) for i in fixed) + "\n")
    return str(path)
