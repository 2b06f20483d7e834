"""Style of the exported library (generated from the notebooks): lines of at most 120 characters and no statements
joined with `;`. The generated `__all__` list and `_modidx.py` are nbdev's and exempt."""
import io, tokenize
from pathlib import Path
import pytest

PKG = Path(__file__).resolve().parents[1] / "chatterbox_flash"
MODULES = sorted(p for p in PKG.rglob("*.py") if p.name != "_modidx.py")

@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_line_length(path):
    src = path.read_text(encoding="utf-8")
    in_all, long = False, []
    for i, line in enumerate(src.splitlines(), 1):
        if line.startswith("__all__ = ["): in_all = True
        if not in_all and len(line) > 120: long.append(f"{path.name}:{i} ({len(line)} chars)")
        if in_all and line.rstrip().endswith("]"): in_all = False
    assert not long, long

@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_no_semicolon_statements(path):
    toks = tokenize.generate_tokens(io.StringIO(path.read_text(encoding="utf-8")).readline)
    bad = [f"{path.name}:{t.start[0]}" for t in toks if t.type == tokenize.OP and t.string == ";"]
    assert not bad, bad

NBS = sorted((PKG.parent / "nbs").glob("*.ipynb"))

@pytest.mark.parametrize("nb", NBS, ids=lambda p: p.name)
def test_no_cell_mixes_imports_with_code(nb):
    "nbdev's docs build executes every cell with an import out of context: such cells must hold only imports."
    import ast, json, re
    bad = []
    for i, c in enumerate(json.loads(nb.read_text(encoding="utf-8"))["cells"]):
        src = "".join(c["source"])
        if c["cell_type"] != "code" or "nbdev_export()" in src or re.search(r"^#\|\s*eval:\s*false", src, re.M): continue
        if re.search(r"^#\|\s*(export|exports|exporti|exec_doc)\b", src, re.M): continue
        try: tree = ast.parse(src)
        except SyntaxError: continue
        if any(isinstance(n, (ast.Import, ast.ImportFrom)) for n in ast.walk(tree)) and \
           any(not isinstance(n, (ast.Import, ast.ImportFrom)) for n in tree.body):
            bad.append(f"cell {i}: {src.splitlines()[0][:60]}")
    assert not bad, f"move these imports into the notebook's hidden import cell: {bad}"
