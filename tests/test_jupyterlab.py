"""The interactive unmasking cell of `nbs/14_reference.ipynb`, run in a real JupyterLab and driven in a real browser.

Starts JupyterLab on 127.0.0.1 (free port, random token, `nbs/` as root; autosave off and checkpoints, settings,
workspaces and runtime files in a temporary folder, so the notebooks in the repository are never written; no
news/update/extension-manager requests), opens `14_reference.ipynb` in headless Chromium through Selenium, waits for the
kernel, selects the code cell holding `interact(_show` and runs it with Shift+Enter, waits for its ipywidgets slider
('block') and its matplotlib figure, then presses the Right arrow key on the slider handle and checks that the
readout says 1 and the figure was redrawn. Screenshots go to `_docs/screenshots/jupyterlab_*.png` (ignored by git).

Needs: `selenium`, `jupyterlab`, `ipywidgets` in the venv; Debian `chromium` and `chromium-driver`.
"""
import base64, io, json, os, re, secrets, signal, socket, subprocess, sys, time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NBS = ROOT / "nbs"
NB_NAME = "14_reference.ipynb"
CELL_MARK = "interact(_show"
SHOTS = ROOT / "_docs" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
APT_HINT = "apt-get install -y chromium chromium-driver"

# timeouts, in seconds (the cell decodes 160 tokens on a tiny model: ~10-60 s on a small shared CPU)
T_SERVER, T_OPEN, T_START, T_RUN, T_SLIDE = 120, 180, 60, 420, 120

pytestmark = pytest.mark.slow

# JupyterLab user settings for the test session: nothing is saved back to nbs/, nothing is fetched from the web,
# and every cell of the notebook is kept in the DOM (no virtual scrolling).
LAB_SETTINGS = {
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false",
                                                                          "checkForUpdates": False},
    "@jupyterlab/extensionmanager-extension/plugin.jupyterlab-settings": {"enabled": False},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0)); return s.getsockname()[1]


def tail(p: Path, n: int = 4000) -> str:
    try: return p.read_text(errors="replace")[-n:]
    except OSError: return "(no log)"


def api(base: str, token: str, path: str, method: str = "GET"):
    "JSON from the server's REST API (None for an empty answer)."
    req = urllib.request.Request(base + path, method=method, headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(req, timeout=10) as r:
        body = r.read()
    return json.loads(body) if body else None


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    "(base URL, token, log file) of a JupyterLab server rooted at nbs/ (stopped, with its kernels, at teardown)."
    try:
        import jupyterlab, jupyter_server, ipywidgets, jupyterlab_widgets  # noqa: F401
    except ImportError as e:
        pytest.fail(f"{e.name} is missing: `.venv/bin/pip install jupyterlab ipywidgets` "
                    "(dev requirements in settings.ini)")
    tmp = tmp_path_factory.mktemp("jupyterlab")
    settings, ckpt = tmp / "user-settings", tmp / "checkpoints"
    for rel, value in LAB_SETTINGS.items():
        f = settings / rel; f.parent.mkdir(parents=True, exist_ok=True); f.write_text(json.dumps(value))
    ckpt.mkdir()
    port, token = free_port(), secrets.token_hex(24)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "MPLBACKEND"))}
    env.update(JUPYTER_CONFIG_DIR=str(tmp / "config"), JUPYTER_DATA_DIR=str(tmp / "data"),
               JUPYTER_RUNTIME_DIR=str(tmp / "runtime"), IPYTHONDIR=str(tmp / "ipython"),
               MPLBACKEND="module://matplotlib_inline.backend_inline", HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1")
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip", "127.0.0.1", "--port", str(port),
           "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={NBS}",
           "--ServerApp.terminals_enabled=False", f"--FileCheckpoints.checkpoint_dir={ckpt}",
           f"--LabApp.user_settings_dir={settings}", f"--LabApp.workspaces_dir={tmp / 'workspaces'}",
           "--LabApp.news_url=None",
           "--LabApp.check_for_updates_class=jupyterlab.handlers.announcements.NeverCheckForUpdate",
           "--LabApp.extension_manager=readonly", "--LabApp.expose_app_in_browser=True",
           # a safety net should this process die without its teardown: idle kernels and server go away
           "--MappingKernelManager.cull_idle_timeout=1800", "--MappingKernelManager.cull_interval=120",
           "--ServerApp.shutdown_no_activity_timeout=3600"]
    if hasattr(os, "geteuid") and os.geteuid() == 0: cmd.append("--allow-root")  # containers often run as root
    log = tmp / "server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=NBS, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + T_SERVER
        while True:
            if proc.poll() is not None:
                pytest.fail(f"JupyterLab exited with code {proc.returncode} at start; its log:\n{tail(log)}")
            try:
                api(base, token, "/api/status"); api(base, token, "/lab/api/settings"); break
            except (OSError, ValueError):
                if time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not answer on {base} within {T_SERVER} s; its log:\n{tail(log)}")
                time.sleep(0.25)  # poll interval of the start-up wait
        yield base, token, log
    finally:
        try:  # kernels run in their own sessions: shut them down through the API before stopping the server
            for k in api(base, token, "/api/kernels") or []:
                api(base, token, f"/api/kernels/{k['id']}", method="DELETE")
        except (OSError, ValueError): pass
        proc.terminate()
        try: proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            try: os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError: pass
            proc.wait(timeout=20)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    "Headless Chromium driven by Selenium (Debian chromium + chromium-driver)."
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
        from selenium.common.exceptions import WebDriverException
    except ImportError:
        pytest.fail("selenium is missing: `.venv/bin/pip install selenium` (dev requirements in settings.ini)")
    for exe in (CHROMIUM, CHROMEDRIVER):
        if not os.access(exe, os.X_OK): pytest.fail(f"{exe} is missing: `{APT_HINT}` (Debian)")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1400,1000",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"]:
        opts.add_argument(flag)
    try:
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    except WebDriverException as e:
        pytest.fail(f"chromedriver could not start Chromium ({e.msg}); chromium and chromium-driver must be the same "
                    f"version: `{APT_HINT}`")
    driver.set_page_load_timeout(120); driver.set_script_timeout(60)
    try: yield driver
    finally: driver.quit()


# --- browser-side probes (window.jupyterapp is exposed by --LabApp.expose_app_in_browser) -----------------------

JS_NOTEBOOK = """
const app = window.jupyterapp, w = app && app.shell && app.shell.currentWidget;
if (!w || !w.context || w.context.path !== arguments[0] || !w.context.isReady || !w.content) return null;
const k = w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
return {status: k ? k.status : null, connection: k ? k.connectionStatus : null, cells: w.content.widgets.length};
"""
JS_FIND_CELL = """
const nb = window.jupyterapp.shell.currentWidget.content;
const i = nb.widgets.findIndex(c => c.model.type === 'code' && c.model.sharedModel.getSource().includes(arguments[0]));
if (i < 0) return null;
nb.widgets[i].node.scrollIntoView({block: 'start'});
return [i, nb.widgets[i].node];
"""
JS_ACTIVE = "const nb = window.jupyterapp.shell.currentWidget.content; return [nb.activeCellIndex, nb.mode];"


def shot(driver, name: str, element=None) -> Path:
    "Save a screenshot of the window (or of `element`) as _docs/screenshots/jupyterlab_<name>.png."
    SHOTS.mkdir(parents=True, exist_ok=True)
    p = SHOTS / f"jupyterlab_{name}.png"
    (element.screenshot if element is not None else driver.save_screenshot)(str(p))
    return p


def dialogs(driver) -> str:
    "Text of any JupyterLab dialog on screen (a kernel or server error, usually)."
    from selenium.webdriver.common.by import By
    texts = [d.text for d in driver.find_elements(By.CSS_SELECTOR, ".jp-Dialog")]
    return ("; dialogs on screen: " + " | ".join(texts)) if texts else ""


def decode_png(src: str):
    from PIL import Image
    head, _, data = src.partition(",")
    assert head.startswith("data:image/png") and ";base64" in head, f"figure src is not a PNG data URI: {src[:80]}"
    return Image.open(io.BytesIO(base64.b64decode(data)))


def test_unmasking_slider_in_jupyterlab(lab, browser):
    "Run the interactive cell of 14_reference.ipynb in JupyterLab; moving the 'block' slider redraws the figure."
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.support.ui import WebDriverWait
    from selenium.common.exceptions import (TimeoutException, StaleElementReferenceException,
                                            NoSuchElementException, JavascriptException)
    base, token, log = lab
    driver = browser
    assert (NBS / NB_NAME).exists(), f"nbs/{NB_NAME} is missing"

    def wait(cond, timeout, what: str, fix=""):
        """Poll `cond()` until it is truthy; on timeout fail with what was awaited, how to fix it (`fix`: text, or a
        function giving it at failure time), a screenshot and the server log."""
        try:
            return WebDriverWait(driver, timeout, poll_frequency=0.25, ignored_exceptions=(
                StaleElementReferenceException, NoSuchElementException, JavascriptException)).until(lambda d: cond())
        except TimeoutException:
            p = shot(driver, "failure")
            if callable(fix): fix = fix()
            pytest.fail(f"timed out after {timeout} s waiting for {what}{dialogs(driver)}. {fix} "
                        f"Screenshot: {p.relative_to(ROOT)}. JupyterLab log tail:\n{tail(log, 3000)}")

    # 1. open the notebook, wait for JupyterLab, the document and an idle, connected kernel
    driver.get(f"{base}/lab/tree/{NB_NAME}?token={token}")
    wait(lambda: driver.execute_script(JS_NOTEBOOK, NB_NAME), T_OPEN, f"JupyterLab to open {NB_NAME}",
         "Check that jupyterlab starts (`.venv/bin/python -m jupyterlab --version`) and the notebook is valid JSON.")
    state = wait(lambda: (lambda s: s if s and s["status"] == "idle" and s["connection"] == "connected" else None)(
                     driver.execute_script(JS_NOTEBOOK, NB_NAME)), T_OPEN, "the notebook's kernel to be idle",
                 "The notebook's kernelspec is 'python3': `.venv/bin/python -m ipykernel install --sys-prefix`.")
    assert state["cells"] > 0

    # 2. find the interactive cell, select it (click its prompt: command mode) and run it with Shift+Enter
    found = driver.execute_script(JS_FIND_CELL, CELL_MARK)
    assert found, f"nbs/{NB_NAME} has no code cell containing {CELL_MARK!r} (the interactive unmasking cell)"
    idx, cell = found
    prompt = cell.find_element(By.CSS_SELECTOR, ".jp-InputArea-prompt")
    before_prompt = prompt.text.strip()
    prompt.click()
    wait(lambda: driver.execute_script(JS_ACTIVE)[0] == idx, 10, f"cell {idx} to become the active cell")
    t0 = time.monotonic()
    ActionChains(driver).key_down(Keys.SHIFT).send_keys(Keys.ENTER).key_up(Keys.SHIFT).perform()
    # running clears the stored output (the saved slider) and shows [*]; wait for that, then for a number
    wait(lambda: prompt.text.strip() not in (before_prompt, ""), T_START, "the cell to start running ([*])",
         "Shift+Enter did not run the selected cell.")
    outputs = cell.find_element(By.CSS_SELECTOR, ".jp-Cell-outputArea")
    wait(lambda: re.fullmatch(r"\[\d+\]:?", prompt.text.strip()), T_RUN, "the cell to finish running",
         "The cell decodes 160 tokens on the tiny model; run it by hand in JupyterLab to see why it is slow or stuck.")
    run_s = time.monotonic() - t0

    def error_text() -> str:
        "Text of a traceback in the cell's output, if any."
        errs = [e.text for e in outputs.find_elements(By.CSS_SELECTOR, ".jp-OutputArea-output")
                if "Traceback" in e.text]
        return "\n".join(errs)[-3000:]

    def widget_and_figure():
        if outputs.find_elements(By.CSS_SELECTOR, ".widget-slider .noUi-handle") and \
                outputs.find_elements(By.CSS_SELECTOR, ".widget-output img, .jp-OutputArea-output img"):
            return True
        err = error_text()
        if err: pytest.fail(f"the interactive cell raised:\n{err}")
        return False
    wait(widget_and_figure, T_START, "the 'block' slider and the figure in the cell's output", lambda: (
         "If the output says 'Loading widget...' or shows IntSlider(...) as text, the widget front end is missing: "
         "`.venv/bin/pip install ipywidgets jupyterlab_widgets` and restart JupyterLab. If there is no figure, "
         "check that plot_unmasking draws with the inline matplotlib backend. Output text:\n" + outputs.text[-2000:]))
    slider = outputs.find_element(By.CSS_SELECTOR, ".widget-slider")
    assert "block" in slider.text, f"the slider is not the 'block' slider: {slider.text!r}"
    readout = slider.find_element(By.CSS_SELECTOR, ".widget-readout")
    assert readout.text.strip() == "0", f"the slider starts at {readout.text!r}, not 0"
    img = outputs.find_element(By.CSS_SELECTOR, "img")
    src0 = img.get_attribute("src")
    im0 = decode_png(src0)
    assert min(im0.size) >= 100, f"the figure is only {im0.size} pixels"
    driver.execute_script("arguments[0].scrollIntoView({block: 'start'})", cell)  # its code and output in view
    shot(driver, "block0"); shot(driver, "output_block0", outputs)

    # 3. move the slider one step right with the keyboard: the readout says 1 and the figure is redrawn
    handle = slider.find_element(By.CSS_SELECTOR, ".noUi-handle")
    driver.execute_script("arguments[0].focus()", handle)
    handle.send_keys(Keys.ARROW_RIGHT)
    wait(lambda: readout.text.strip() == "1", T_SLIDE, "the slider readout to show 1 after pressing Right",
         "The slider handle did not take the arrow key (noUiSlider keyboard support in the ipywidgets front end).")

    def new_src():
        srcs = [i.get_attribute("src") for i in outputs.find_elements(By.CSS_SELECTOR, "img")]
        return srcs[0] if len(srcs) == 1 and srcs[0] and srcs[0] != src0 else None
    src1 = wait(new_src, T_SLIDE, "the figure to be redrawn for block 1",
                lambda: "The kernel did not answer the slider change (is it still alive?); output text:\n"
                        + outputs.text[-2000:])
    im1 = decode_png(src1)
    assert im1.size == im0.size and im1.tobytes() != im0.tobytes(), "the figure for block 1 is the same as for block 0"
    assert slider.find_element(By.CSS_SELECTOR, ".noUi-handle").get_attribute("aria-valuenow") in ("1", "1.0", "1.00")
    driver.execute_script("arguments[0].scrollIntoView({block: 'start'})", cell)
    shot(driver, "block1"); shot(driver, "output_block1", outputs)
    print(f"interactive cell ran in {run_s:.1f} s; figure {im0.size}, redrawn for block 1")
