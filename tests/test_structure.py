"""The package's shape: its import graph has no cycles (every `import` counts, those inside functions too: a lazy
import that reaches up a layer is still a cycle), each subpackage imports only from its own layer and those below,
and no module is longer than a reader can hold. Engines register themselves with `engines.base.register_engine`;
`build_engine` imports them by name."""
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
    assert "chatterbox_flash.speech.tts" in g["chatterbox_flash.tools.cli"]      # imported inside a function

def test_no_import_cycles():
    assert cycles(import_graph()) == []

# bottom to top: a module may import from its own layer and those listed before it
LAYERS = ["errors", "runtime", "checkpoints", "engines", "decoding", "speech", "serving", "tools"]
MAX_LINES = 400

def layer(module: str) -> int:
    parts = module.split(".")
    return LAYERS.index(parts[1]) if len(parts) > 1 else len(LAYERS)     # the package's __init__ sits on top

def test_every_module_has_a_layer():
    assert all(layer(m) <= len(LAYERS) for m in import_graph())

def test_layers_only_reach_down():
    g = import_graph()
    up = [f"{m} -> {t}" for m in g for t in g[m] if layer(t) > layer(m)]
    assert up == [], up

def test_modules_are_short():
    long = {f.relative_to(PKG).as_posix(): n for f in PKG.rglob("*.py")
            if f.name != "_modidx.py" and (n := len(f.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}, f"split these modules by responsibility: {long}"
