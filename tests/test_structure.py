"""The package's import graph has no cycles: every `import` counts, those inside functions too (a lazy import that
reaches up a layer is still a cycle). Engines register themselves with `engine.register_engine`; `build_engine`
imports them by name."""
import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "chatterbox_flash"

def module_name(f: Path) -> str:
    rel = f.relative_to(PKG.parent).with_suffix("")
    return ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)

def import_graph() -> dict:
    "Module -> the package modules it imports anywhere in its source."
    mods = {module_name(f): f for f in PKG.rglob("*.py") if f.name != "_modidx.py"}
    graph = {}
    for m, f in mods.items():
        out, pkg_parts = set(), m.split(".")[:-1] if f.name != "__init__.py" else m.split(".")
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import): names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = ".".join(pkg_parts[: len(pkg_parts) - node.level + 1]) if node.level else ""
                mod = ".".join(x for x in (base, node.module or "") if x)
                names = [mod] + [f"{mod}.{a.name}" for a in node.names]
            else: continue
            for t in names:
                while t and t not in mods: t = t.rpartition(".")[0]
                if t and t != m and t != PKG.name: out.add(t)
        graph[m] = out
    return graph

def cycles(graph: dict) -> list:
    "Each cycle once, as the list of modules on it (depth-first search)."
    found, state, stack = [], {}, []
    def visit(v):
        state[v] = 1; stack.append(v)
        for w in sorted(graph[v]):
            if state.get(w) == 1: found.append(stack[stack.index(w):] + [w])
            elif w not in state: visit(w)
        stack.pop(); state[v] = 2
    for v in sorted(graph):
        if v not in state: visit(v)
    return found

def test_cycle_finder_finds_cycles():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b"}, "b": set()}) == []

def test_graph_sees_lazy_imports():
    g = import_graph()
    assert "chatterbox_flash.tts" in g["chatterbox_flash.cli"]            # imported inside a function

def test_no_import_cycles():
    assert cycles(import_graph()) == []
