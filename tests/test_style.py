"""Style of the exported library (generated from the notebooks): lines of at most 120 characters and no statements
joined with `;`. The generated `__all__` list and `_modidx.py` are nbdev's and exempt."""
import io, tokenize
from pathlib import Path
import pytest

PKG = Path(__file__).resolve().parents[1] / "chatterbox_flash"
MODULES = sorted(p for p in PKG.glob("*.py") if p.name != "_modidx.py")

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
