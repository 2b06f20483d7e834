"""The docs site, checked in a real browser (issue 9).

Builds `_docs/` with `scripts/build_docs.sh` when it is missing or older than the notebooks, serves it on 127.0.0.1,
opens the index, the decode page and the benchmark page in headless Chromium (Debian `chromium`), and checks that they
render with their images; screenshots go to `_docs/screenshots/` (ignored by git). A static check (no browser) makes
sure every module page lists its module's whole `__all__` in the build's API section.
"""
import ast, base64, io, json, re, shutil, socket, subprocess, sys, tempfile, time, urllib.error, urllib.request
from pathlib import Path
from urllib.parse import urljoin

import pytest
from bs4 import BeautifulSoup

ROOT = Path(__file__).resolve().parents[1]
NBS, DOCS, LIB = ROOT / "nbs", ROOT / "_docs", ROOT / "chatterbox_flash"
SHOTS = DOCS / "screenshots"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.slow


def page_name(nb: Path) -> str:
    "The page the build makes of a notebook: `08_decode.ipynb` -> `decode.html` (the build's naming rule)."
    return "index.html" if nb.name == "index.ipynb" else re.sub(r"^\d+[a-zA-Z0-9]*_", "", nb.stem.lower()) + ".html"


def find_nb(suffix: str) -> Path | None:
    "The notebook `nbs/NN_<suffix>.ipynb`, or None."
    return next(iter(sorted(NBS.glob(f"[0-9]*_{suffix}.ipynb"))), None)


def nb_json(nb: Path) -> dict: return json.loads(nb.read_text(encoding="utf-8"))


def nb_title(nb: Path) -> str:
    "The `# Title` of a notebook's first title cell."
    for c in nb_json(nb)["cells"]:
        src = "".join(c["source"]).lstrip()
        if c["cell_type"] == "markdown" and src.startswith("# "): return src.splitlines()[0][2:].strip()
    raise AssertionError(f"{nb.name} has no '# Title' markdown cell")


def n_images(nb: Path) -> int:
    "Figures a notebook carries: stored image outputs plus markdown images."
    cells = nb_json(nb)["cells"]
    outs = sum(any(k.startswith("image/") for k in o.get("data", {})) for c in cells for o in c.get("outputs", []))
    md = sum(len(re.findall(r"!\[[^\]]*\]\(|<img ", "".join(c["source"]))) for c in cells if c["cell_type"] == "markdown")
    return outs + md


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0)); return s.getsockname()[1]


def http_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=30) as r: return r.status
    except urllib.error.HTTPError as e: return e.code


@pytest.fixture(scope="session")
def docs() -> Path:
    "`_docs/`, rebuilt with scripts/build_docs.sh when missing or older than the notebooks or the build script."
    index = DOCS / "index.html"
    newest = max(p.stat().st_mtime for p in [*NBS.glob("*.ipynb"), ROOT / "scripts/build_docs.sh"])
    if not index.exists() or index.stat().st_mtime < newest:
        r = subprocess.run(["bash", str(ROOT / "scripts/build_docs.sh")], cwd=ROOT, capture_output=True, text=True,
                           timeout=1800)
        assert r.returncode == 0, f"scripts/build_docs.sh failed:\n{r.stdout[-3000:]}\n{r.stderr[-5000:]}"
    assert index.exists()
    return DOCS


@pytest.fixture(scope="session")
def server(docs):
    "Base URL of `_docs/` served by `python -m http.server` on a free localhost port (stopped at teardown)."
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
                             "--directory", str(docs)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(100):
            try:
                if http_status(base + "index.html") == 200: break
            except OSError: time.sleep(0.1)
        else: raise AssertionError("the docs server did not start")
        yield base
    finally:
        proc.terminate()
        try: proc.wait(timeout=10)
        except subprocess.TimeoutExpired: proc.kill(); proc.wait()


@pytest.fixture(scope="session")
def chromium() -> str:
    exe = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if exe is None:
        pytest.fail("headless Chromium is needed for the docs browser test: `apt-get install -y chromium` (Debian)")
    return exe


def render(chromium: str, url: str, shot: Path) -> BeautifulSoup:
    "Screenshot `url` to `shot` (1280x2000) and return its DOM after load, both from headless Chromium."
    shot.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as prof:
        base = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={prof}"]
        r = subprocess.run([*base, f"--screenshot={shot}", "--window-size=1280,2000", url],
                           capture_output=True, text=True, timeout=180)
        assert r.returncode == 0 and shot.exists(), f"chromium --screenshot failed on {url}:\n{r.stderr[-2000:]}"
        r = subprocess.run([*base, "--dump-dom", url], capture_output=True, text=True, timeout=180)
        assert r.returncode == 0 and "</html>" in r.stdout, f"chromium --dump-dom failed on {url}:\n{r.stderr[-2000:]}"
    return BeautifulSoup(r.stdout, "html.parser")


def png_from_src(src: str, page_url: str):
    "A PIL image from an <img> src: a data: URI or a URL the server answers 200 for."
    from PIL import Image
    if src.startswith("data:"):
        head, data = src.split(",", 1)
        assert head.startswith("data:image/") and ";base64" in head, head[:60]
        return Image.open(io.BytesIO(base64.b64decode(data)))
    url = urljoin(page_url, src)
    with urllib.request.urlopen(url, timeout=30) as r:
        assert r.status == 200, f"{url}: HTTP {r.status}"
        return Image.open(io.BytesIO(r.read()))


def check_page(chromium: str, server: str, nb: Path, min_images: int = 1) -> BeautifulSoup:
    """Open the page of `nb`: its title is shown, every figure of the notebook is there and loads, the screenshot is
    not blank. Returns the DOM."""
    from PIL import Image, ImageStat
    page = page_name(nb); url = server + page
    assert http_status(url) == 200, f"{page} is not served"
    dom = render(chromium, url, SHOTS / page.replace(".html", ".png"))
    title = nb_title(nb)
    content = dom.select_one("article") or dom.body
    assert title in content.get_text(" "), f"{page}: title {title!r} not on the page"
    imgs = content.find_all("img")
    want = max(min_images, n_images(nb))
    assert len(imgs) >= want, f"{page}: {len(imgs)} <img> rendered, the notebook has {want} figures"
    for img in imgs:
        im = png_from_src(img.get("src", ""), url)
        assert min(im.size) >= 8, f"{page}: image of size {im.size}"
    shot = Image.open(SHOTS / page.replace(".html", ".png"))
    assert shot.size == (1280, 2000)
    assert ImageStat.Stat(shot.convert("L")).stddev[0] > 10, f"{page}: the screenshot is blank"
    return dom


def test_index_is_the_readme(chromium, server):
    "Home page: the README's title and every section of it, rendered (its figures too, if it has any)."
    dom = check_page(chromium, server, NBS / "index.ipynb", min_images=0)
    text = (dom.select_one("article") or dom.body).get_text(" ")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    heads = re.findall(r"^#{1,3} (.+?)\s*$", readme, re.M)
    assert len(heads) >= 2, "README.md has no sections"
    for h in heads:
        plain = re.sub(r"[`*_]|\[([^\]]*)\]\([^)]*\)", r"\1", h).strip()
        assert plain in text, f"README section {plain!r} is not on the index page"
    nav = dom.select_one("nav.md-nav--primary") or dom
    assert "decode.html" in str(nav), "the navigation does not list the decode page"


def test_decode_page_with_heatmap(chromium, server):
    "The algorithm page: figures load, and the unmasking heatmap (the output of `plot_unmasking`) is a real picture."
    nb = find_nb("decode")
    assert nb is not None, "nbs/NN_decode.ipynb is missing"
    dom = check_page(chromium, server, nb)
    cells = [c for c in dom.select("div.jp-Cell") if "plot_unmasking(" in c.get_text() and c.find("img")]
    assert cells, "decode.html: no rendered cell calls plot_unmasking with an image output (the heatmap)"
    im = png_from_src(cells[0].find("img")["src"], server + "decode.html").convert("RGB")
    w, h = im.size
    assert w >= 200 and h >= 100, f"heatmap image is only {im.size}"
    assert len(im.resize((64, 32)).getcolors(4096) or []) > 8, "the heatmap image is flat"


def test_benchmark_page(chromium, server):
    "The benchmark page with its latency plots (skipped until nbs/NN_benchmarks.ipynb exists)."
    nb = find_nb("benchmarks")
    if nb is None: pytest.skip("nbs/NN_benchmarks.ipynb does not exist yet")
    check_page(chromium, server, nb, min_images=1)


def _module_all(py: Path) -> list[str]:
    for node in ast.parse(py.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__all__" for t in node.targets):
            return list(ast.literal_eval(node.value))
    return []


def test_api_sections(docs):
    "Every module page ends with an API list naming its module's whole `__all__`; its in-page links all resolve."
    checked = 0
    for nb in sorted(NBS.glob("[0-9]*_*.ipynb")):
        m = re.search(r"#\|\s*default_exp\s+(\S+)", "".join(nb_json(nb)["cells"][0]["source"]))
        if not m or m.group(1) == "__init__": continue
        names = _module_all(LIB / (m.group(1).replace(".", "/") + ".py"))
        if not names: continue
        soup = BeautifulSoup((docs / page_name(nb)).read_text(encoding="utf-8"), "html.parser")
        api = soup.select_one("dl.api-list")
        assert api is not None, f"{page_name(nb)}: no API section"
        listed = [dt.code.get_text() for dt in api.find_all("dt")]
        assert listed == names, f"{page_name(nb)}: API lists {listed}, __all__ is {names}"
        ids = {t["id"] for t in soup.find_all(id=True)}
        for a in api.select('a[href^="#"]'):
            assert a["href"][1:] in ids, f"{page_name(nb)}: API link {a['href']} has no target"
        checked += 1
    assert checked >= 5
