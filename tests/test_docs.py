"""The docs site as a reader sees it, in a real browser.

Builds `_docs/` once with `bash scripts/build_docs.sh` (unless a build newer than every input is there), serves it on
127.0.0.1, opens pages in headless Chromium (Selenium + Debian's chromium/chromedriver) and checks what is shown:
titles, figures that load, API reference entries, working links, no Quarto syntax. Screenshots: `_docs/screenshots/`.
"""
import importlib.util, json, re, shutil, socket, subprocess, sys, tempfile, time, urllib.error, urllib.request
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlparse

import pytest

ROOT = Path(__file__).resolve().parents[1]
NBS, DOCS = ROOT / "nbs", ROOT / "_docs"
SHOTS = DOCS / "screenshots"
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
BUILD_INPUTS = ["nbs/*.ipynb", "chatterbox_flash/**/*.py", "scripts/build_docs.sh", "scripts/docs.py", "mkdocs.yml",
                "settings.ini"]

pytestmark = pytest.mark.slow


def notebook(page: str) -> Path:
    "The notebook a page is made from: `decode.html` <- nbs/NN_decode.ipynb, `index.html` <- nbs/index.ipynb."
    stem = page.removesuffix(".html")
    nbs = [NBS / "index.ipynb"] if stem == "index" else sorted(NBS.glob(f"[0-9]*_{stem}.ipynb"))
    assert nbs and nbs[0].exists(), f"no notebook for {page} in nbs/"
    return nbs[0]


def nb_cells(nb: Path) -> list[dict]: return json.loads(nb.read_text(encoding="utf-8"))["cells"]


def nb_title(nb: Path) -> str:
    "The notebook's `# Title` (nbdev's title cell)."
    for c in nb_cells(nb):
        m = re.match(r"\s*# (.+)", "".join(c["source"])) if c["cell_type"] == "markdown" else None
        if m: return m.group(1).strip()
    raise AssertionError(f"{nb.name} has no '# Title' markdown cell")


def nb_figures(nb: Path) -> int:
    "Image outputs stored in the notebook's shown (not `#| hide`) cells."
    return sum(any(k.startswith("image/") for k in o.get("data", {})) for c in nb_cells(nb)
               if not re.search(r"^#\|\s*hide\s*$", "".join(c["source"]), re.M) for o in c.get("outputs", []))


def need(cond, what: str, fix: str):
    if not cond: pytest.fail(f"{what} is needed for the docs test. Fix: {fix}", pytrace=False)


def http_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=30) as r: return r.status
    except urllib.error.HTTPError as e: return e.code


@pytest.fixture(scope="session")
def docs() -> Path:
    "`_docs/`, built by scripts/build_docs.sh unless a build newer than all its inputs exists."
    for mod, pkg in [("material", "mkdocs-material"), ("mkdocs_jupyter", "mkdocs-jupyter"),
                     ("mkdocstrings_handlers.python", "mkdocstrings-python"), ("nbdev.serve", "nbdev")]:
        need(importlib.util.find_spec(mod), f"the Python package {pkg}",
             f"`.venv/bin/pip install {pkg}` (all docs tools: `pip install -e '.[dev]'`)")
    index = DOCS / "index.html"
    newest = max(p.stat().st_mtime for g in BUILD_INPUTS for p in ROOT.glob(g))
    if not index.exists() or index.stat().st_mtime < newest:
        r = subprocess.run(["bash", "scripts/build_docs.sh"], cwd=ROOT, capture_output=True, text=True, timeout=1200)
        assert r.returncode == 0, f"scripts/build_docs.sh failed:\n{r.stdout[-3000:]}\n{r.stderr[-5000:]}"
    assert index.exists(), "scripts/build_docs.sh made no _docs/index.html"
    return DOCS


@pytest.fixture(scope="session")
def server(docs):
    "Base URL of `_docs/` served by `python -m http.server` on a free 127.0.0.1 port."
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory",
                             str(docs)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(100):
            try:
                if http_status(base) == 200: break
            except OSError: time.sleep(0.1)
        else: raise AssertionError("the docs server (python -m http.server) did not start")
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="session")
def browser():
    "Headless Chromium driven by Selenium, with a fresh empty profile."
    try: from selenium import webdriver
    except ImportError: need(False, "selenium", "`.venv/bin/pip install selenium`")
    need(Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists(), f"{CHROMIUM} and {CHROMEDRIVER}",
         "`apt-get install -y chromium chromium-driver` (Debian)")
    prof = tempfile.mkdtemp(prefix="docs-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for f in [*CHROMIUM_FLAGS, f"--user-data-dir={prof}", "--window-size=1280,1600"]: opts.add_argument(f)
    try: driver = webdriver.Chrome(options=opts, service=webdriver.ChromeService(executable_path=CHROMEDRIVER))
    except Exception as e:
        need(False, f"a working {CHROMIUM} + {CHROMEDRIVER} pair ({type(e).__name__}: {str(e)[:300]})",
             "install both from the same Debian release: `apt-get install -y chromium chromium-driver`")
    driver.set_page_load_timeout(120)
    try: yield driver
    finally:
        driver.quit()
        shutil.rmtree(prof, ignore_errors=True)


def open_page(browser, server: str, page: str) -> str:
    "Load `page`, save its screenshot, return the text of its content (the article)."
    url = server + page
    assert http_status(url) == 200, f"{page} is not served (HTTP {http_status(url)})"
    browser.get(url)
    SHOTS.mkdir(parents=True, exist_ok=True)
    shot = SHOTS / page.replace("/", "_").replace(".html", "")
    browser.save_screenshot(f"{shot}.png")
    if browser.execute_script("const i = document.querySelector('article img'); if (i) i.scrollIntoView(); return !!i"):
        browser.save_screenshot(f"{shot}-figure.png")  # the first figure
    return browser.execute_script("return (document.querySelector('article') || document.body).innerText")


def assert_reads_clean(page: str, text: str):
    "No Quarto syntax or show_doc calls leak onto the page."
    assert not re.search(r"^\s*#\|", text, re.M), f"{page} shows Quarto `#|` directive lines"
    assert not re.search(r"^---\s*$\n^(title|description|output-file):", text, re.M), f"{page} shows raw front matter"
    assert "output-file:" not in text, f"{page} shows raw front matter"
    assert "show_doc(" not in text, f"{page} shows the source of show_doc cells (`#| echo: false` not applied)"
    assert '{target="_blank"' not in text, f"{page} shows Pandoc link attributes as text"


def loaded_images(browser) -> tuple[int, int]:
    "(images in the content, of which loaded with a real size)."
    return tuple(browser.execute_script(
        "const im = [...(document.querySelector('article') || document.body).querySelectorAll('img')];"
        "return [im.length, im.filter(i => i.complete && i.naturalWidth > 0).length];"))


@pytest.mark.parametrize("page", ["index.html", "decode.html", "benchmarks.html"])
def test_page(browser, server, page):
    "The page has its notebook's title, hides Quarto syntax and shows every figure of the notebook, loaded."
    nb = notebook(page)
    text = open_page(browser, server, page)
    title = nb_title(nb)
    h1 = browser.execute_script("const h = document.querySelector('article h1'); return h ? h.innerText : ''")
    assert title in h1, f"{page}: the heading is {h1!r}, expected the notebook's title {title!r}"
    assert title.casefold() in browser.title.casefold(), f"{page}: the browser title {browser.title!r} lacks {title!r}"
    assert_reads_clean(page, text)
    n, ok = loaded_images(browser)
    want = nb_figures(nb)
    assert n == ok, f"{page}: {n - ok} of {n} images did not load"
    assert ok >= want, f"{page}: {ok} figures shown, the notebook has {want}"
    if page != "index.html": assert ok >= 1, f"{page}: no figure shown"


@pytest.mark.parametrize("page, names", [("reference/decoding.decode.html", ["iter_decode", "BatchDecoder", "BlockState"]),
                                         ("reference/speech.tts.html", ["ChatterboxFlashTTS"])])
def test_api_reference(browser, server, page, names):
    "An API reference page lists the module's functions and classes, each with an anchor."
    text = open_page(browser, server, page)
    mod = "chatterbox_flash." + page.split("/")[1].removesuffix(".html")
    assert mod in text, f"{page} does not name {mod}"
    for nm in names:
        assert browser.execute_script("return !!document.getElementById(arguments[0])", f"{mod}.{nm}"), \
            f"{page}: no entry (anchor #{mod}.{nm}) for {nm}"
        assert re.search(rf"\b{nm}\b", text), f"{page}: {nm} is not shown"
    assert_reads_clean(page, text)


def test_internal_links(browser, server):
    "Every link from the opened pages (content and navigation) to another page of the site is served."
    host, links = urlparse(server).netloc, set()
    for page in ["index.html", "decode.html", "benchmarks.html", "reference/decoding.decode.html"]:
        browser.get(server + page)
        hrefs = browser.execute_script("return [...document.querySelectorAll('a[href]')].map(a => a.href)")
        links |= {urldefrag(h).url for h in hrefs if urlparse(h).netloc == host}
    pages = {u for u in links if u.endswith(".html")}
    assert {server + p for p in ["decode.html", "model.html", "reference/decoding.decode.html"]} <= pages, \
        "the opened pages do not link to the decode, model and API reference pages"
    bad = {u: s for u in sorted(links) if (s := http_status(u)) != 200}
    assert not bad, f"broken internal links: {bad}"
