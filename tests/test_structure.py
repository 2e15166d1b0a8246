"""The shape of the code: the package's import graph, its layers, and the keys it stores.

The graph counts every ``import`` in the package, at module level or inside a function, between
the package's own modules (a package's ``__init__`` counts as the package itself).
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

from .conftest import ROOT

PACKAGE = ROOT / "screening"

LAYERS = {
    # 1: types (data, no algorithm)
    "screening": 1, "screening.errors": 1, "screening.hashing": 1, "screening.settings": 1,
    "screening.geometry": 1, "screening.methods": 1, "screening.specs": 1, "screening.data": 1,
    "screening.processes": 1,
    # 2: algorithms (take types, return types; never store)
    "screening.species": 2, "screening.hosts": 2, "screening.placement": 2,
    "screening.hops": 2, "screening.engines": 2, "screening.neb": 2, "screening.quantities": 2,
    "screening.complexes": 2,
    # 3: orchestration and interfaces
    "screening.campaign": 3, "screening.store": 3, "screening.database": 3,
    "screening.doctor": 3, "screening.collect": 3,
    "screening.pipeline": 3, "screening.api": 3, "screening.cli": 3,
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def import_graph() -> dict[str, set[str]]:
    """module → the package modules it imports (anywhere in its body)."""
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text())):
            targets = []
            if isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")
                    anchor = anchor[:len(anchor) - (node.level - 1)]
                    base = ".".join(anchor + ([base] if base else []))
                targets = [f"{base}.{a.name}" for a in node.names] + [base]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            for t in targets:
                # the most specific package module the import names
                while t and t not in modules:
                    t = t.rpartition(".")[0]
                if t and t != name:
                    graph[name].add(t)
                    break
    return graph


def layer(module: str) -> int:
    """The layer of a module: its own entry or its package's (the root package counts only for
    itself, so a new top-level module must be given a layer here)."""
    name = module
    while name not in LAYERS or (name == "screening" and module != "screening"):
        name = name.rpartition(".")[0]
        assert name, f"module {module} has no layer: add it to LAYERS"
    return LAYERS[name]


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        stack.append(m)
        for n in sorted(graph[m]):
            if state.get(n) == 1:
                return stack[stack.index(n):] + [n]
            if n not in state:
                found = visit(n)
                if found:
                    return found
        stack.pop()
        state[m] = 2
        return None

    for m in sorted(graph):
        if m not in state:
            found = visit(m)
            if found:
                return found
    return None


def test_import_graph_has_no_cycle():
    graph = import_graph()
    assert len(graph) > 25 and "screening.campaign.schema" in graph  # the scan found the package
    # a parent package importing its own submodules is not a cycle back from them
    assert find_cycle(graph) is None, " → ".join(find_cycle(graph) or [])


def test_finds_a_cycle_when_there_is_one():
    """The cycle finder itself: a → b → c → a is found, a tree is not."""
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_imports_point_down_the_layers():
    """Types import nothing above them; algorithms import no orchestration module."""
    upward = sorted((m, n) for m, deps in import_graph().items() for n in deps
                    if layer(n) > layer(m) and not n.startswith(m + "."))
    assert len(upward) <= 1, upward


def test_stored_keys_unchanged():
    """Keys of the quickstart's calculations and of the method presets, as stored
    (tests/data/stored_keys.json). `screening` moved to grid level 1 on 2026-11-24 (new keys);
    `screening-grid3` keeps its old key."""
    from screening.campaign import load_campaign
    from screening.hosts.cache import recipe_hash
    from screening.methods import PRESETS, get_method
    from screening.specs import calc_key

    stored = json.loads((Path(__file__).parent / "data" / "stored_keys.json").read_text())
    c = load_campaign(ROOT / "workflows" / "quickstart.yaml")
    assert sorted(calc_key(m, c.method) for m, _ in c.calculations()) == \
        stored["quickstart_calc_keys"]
    assert c.key() == stored["quickstart_campaign"]
    assert {n: get_method(n).key() for n in stored["method_keys"]} == stored["method_keys"]
    assert set(stored["method_keys"]) <= set(PRESETS)  # presets added later have new keys
    assert recipe_hash({"a": 1, "b": [1, 2]}) == stored["recipe_example"]


def test_placement_and_hop_keys_unchanged(tmp_path):
    """A placement (GFN2-xTB guest reference) and a hop keep their stored keys (at the
    `screening-grid3` preset, the `screening` preset's fields before its grid moved to level 1).
    The open-metal placement's key, and with it the campaign's, moved on 2026-11-25 when that
    site's metal-bound candidates came in; the other placement's did not."""
    from screening.campaign import load_campaign
    from screening.specs import calc_key

    stored = json.loads((Path(__file__).parent / "data" / "stored_keys.json").read_text())
    host = "{name: PVDF-HFP, units: 1, hfp_units: 0}"
    (tmp_path / "p.yaml").write_text(f"""name: keys
method: {{preset: screening-grid3, basis: sto-3g}}
quantities:
  - {{name: Li+ on CH3CHF2, kind: binding, host: {host}, guest: Li+, sites: F, poses: 2,
     keep: 2, seed: 1}}
  - {{name: hop, kind: barrier, host: {host}, from: "F:0", to: "F:1", images: 3}}
  - {{name: PC on paddlewheel, kind: binding, host: {{name: HKUST-1, cluster: paddlewheel}},
     guest: H2O, sites: open_metal}}
""")
    c = load_campaign(tmp_path / "p.yaml")
    assert [q.placement.key() for q in c.quantities if q.placement] == stored["placement_keys"]
    assert [q.path.key(c.method) for q in c.quantities if q.path] == stored["path_keys"]
    assert c.key() == stored["keys_campaign"]
    assert sorted(calc_key(m, c.method) for m, _ in c.calculations()) == \
        stored["keys_calc_keys"]
