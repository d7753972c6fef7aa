"""The dashboard in a real browser: headless Chromium (Debian) driven by Selenium.

Starts ``streamlit run app.py`` on a free port with temporary SCREENTIME_DATA / SCREENTIME_CACHE, looks at the
demo project (and saves the screenshots of docs/screenshots/), then does what a newcomer does: creates a
project, uploads a generated 24-second video with two characters, samples it (real VGG16), adds the
characters, ticks frames with the mouse and the keyboard, trains, and finds the screen-time chart with the
right names on the Results page.

Skipped when Chromium, chromedriver or Selenium are missing. Takes about a minute on 2 cores.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest
from synth import make_video
from test_app_helpers import ROOT, SCHEDULE, truth

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
SHOTS = ROOT / "docs" / "screenshots"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]

pytestmark = pytest.mark.skipif(not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()),
                                reason="needs Debian's chromium and chromium-driver")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("browser")
    port = free_port()
    env = {**os.environ, "SCREENTIME_DATA": str(tmp / "data"), "SCREENTIME_CACHE": str(tmp / "cache")}
    log = open(tmp / "server.log", "wb")  # noqa: SIM115  (the server writes to it until the fixture ends)
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                             "--server.port", str(port), "--server.address", "127.0.0.1",
                             "--browser.gatherUsageStats", "false"], cwd=ROOT, env=env, stdout=log,
                            stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read().strip() == b"ok":
                    break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("the Streamlit server did not start: " + (tmp / "server.log").read_text()[-2000:])
        yield {"url": url, "tmp": tmp}
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="module")
def browser(server):
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for f in FLAGS:
        opts.add_argument(f)
    opts.add_argument(f"--user-data-dir={tempfile.mkdtemp(prefix='chromium-')}")
    opts.add_argument("--window-size=1400,1000")
    try:
        d = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    except WebDriverException as exc:  # pragma: no cover - a broken browser install
        pytest.skip(f"Chromium does not start: {exc.msg}")
    d.set_window_size(1400, 1000)
    yield d
    d.quit()


# ---- helpers ------------------------------------------------------------------------------------------------
def body(d) -> str:
    try:
        return d.find_element(By.TAG_NAME, "body").text
    except (StaleElementReferenceException, WebDriverException):
        return ""


def wait_for(d, cond, timeout: float = 60, what: str = "") -> None:
    end = time.time() + timeout
    while time.time() < end:
        try:
            if cond(d):
                return
        except (StaleElementReferenceException, WebDriverException):
            pass
        time.sleep(0.25)
    SHOTS.mkdir(parents=True, exist_ok=True)
    d.save_screenshot(str(Path(tempfile.gettempdir()) / "screentime-browser-failure.png"))
    raise AssertionError(f"timed out waiting for {what or cond}; page says: {body(d)[-1500:]}")


def wait_text(d, text: str, timeout: float = 60) -> None:
    wait_for(d, lambda d: text in body(d), timeout, repr(text))


def settle(d, timeout: float = 60) -> None:
    """Wait until the script run triggered by the last action has finished."""
    time.sleep(0.4)
    wait_for(d, lambda d: not d.find_elements(By.CSS_SELECTOR, '[data-testid="stStatusWidget"] *')
             or "Running" not in d.find_element(By.CSS_SELECTOR, '[data-testid="stStatusWidget"]').text,
             timeout, "the app to finish running")
    time.sleep(0.3)


def click_button(d, label: str, scope=None) -> None:
    root = scope or d
    btns = [b for b in root.find_elements(By.TAG_NAME, "button")
            if label in [x.strip() for x in b.text.split("\n")] and b.is_displayed()]
    assert btns, f"no button {label!r}"
    btns[0].click()
    settle(d)


def go(d, page: str) -> None:
    links = [a for a in d.find_elements(By.CSS_SELECTOR, '[data-testid="stSidebarNavLink"]')
             if a.text.split("\n")[-1].strip() == page]
    assert links, f"no link to {page}"
    links[0].click()
    wait_for(d, lambda d: d.find_element(By.TAG_NAME, "h1").text.startswith(page), 30, f"the {page} page")
    settle(d)


def shot(d, name: str, height: int = 1000) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    d.execute_script("window.scrollTo(0, 0)")
    if height != 1000:
        d.set_window_size(1400, height)
        time.sleep(1.0)
    d.save_screenshot(str(SHOTS / f"{name}.png"))
    if height != 1000:
        d.set_window_size(1400, 1000)


def frame_pills(d) -> list:
    """The button groups of the frame grid, in time order (the first group is the View switch)."""
    groups = d.find_elements(By.CSS_SELECTOR, '[data-testid="stButtonGroup"]')
    return [g for g in groups if "Nobody" in g.text]


def tick(d, index: int, name: str) -> None:
    group = frame_pills(d)[index]
    [btn] = [b for b in group.find_elements(By.TAG_NAME, "button") if b.text.strip() == name]
    btn.click()
    settle(d)


# ---- the test -------------------------------------------------------------------------------------------------
def test_demo_then_own_video_end_to_end(server, browser):
    d, url = browser, server["url"]
    d.get(url)
    wait_text(d, "Ready: 60 frames", 90)  # the demo on first start, no network run
    assert "This demo uses a minute of Big Buck Bunny" in body(d)
    settle(d)
    shot(d, "video")
    go(d, "Label")
    wait_text(d, "20 of 60 frames labelled")
    time.sleep(1.5)  # thumbnails
    shot(d, "label")
    go(d, "Train")
    wait_text(d, "Finds Bunny in")
    shot(d, "train")
    go(d, "Results")
    wait_for(d, lambda d: len(d.find_elements(By.CSS_SELECTOR, ".js-plotly-plot")) >= 4, 30, "four charts")
    time.sleep(1.5)
    shot(d, "results")
    shot(d, "results_full", 2300)

    # a newcomer's own project
    click_button(d, "New project")
    box = d.find_element(By.CSS_SELECTOR, 'input[aria-label="Name of the new project"]')
    box.send_keys("My cartoon")
    click_button(d, "Create project")
    wait_text(d, "This project has no video yet")
    video = make_video(server["tmp"] / "cartoon.mp4", {k: v for k, v in SCHEDULE.items()}, 24.0, fps=10.0)
    d.find_element(By.CSS_SELECTOR, 'input[type="file"]').send_keys(str(video))
    wait_text(d, "Added cartoon.mp4", 60)
    settle(d)
    click_button(d, "Sample")
    wait_text(d, "cartoon.mp4 is ready: 24 frames", 300)  # real VGG16 features
    settle(d)
    shot(d, "video_own")

    go(d, "Label")
    for name in ("Red", "Blue"):
        box = d.find_element(By.CSS_SELECTOR, 'input[aria-label="New character"]')
        box.send_keys(name)
        click_button(d, "Add")
        wait_for(d, lambda d, n=name: d.find_elements(By.CSS_SELECTOR, f'input[value="{n}"]'), 20, name)
    wait_for(d, lambda d: len(frame_pills(d)) == 12, 30, "the frame grid")
    for t in range(12):  # mouse: tick who is visible in the first 12 frames
        who = truth(float(t))
        for name in who or ["Nobody"]:
            tick(d, t, name)
    wait_text(d, "12 of 24 frames labelled")
    shot(d, "label_own")

    # keyboard: one by one, arrows to move, number keys to tick
    [view] = [g for g in d.find_elements(By.CSS_SELECTOR, '[data-testid="stButtonGroup"]') if "One by one" in g.text]
    [one] = [b for b in view.find_elements(By.TAG_NAME, "button") if b.text.strip() == "One by one"]
    one.click()
    settle(d)
    wait_text(d, "frame 1 of 24")
    for k in range(2, 16):
        d.find_element(By.TAG_NAME, "body").send_keys(Keys.ARROW_RIGHT)
        wait_text(d, f"frame {k} of 24", 20)
        settle(d)
    d.find_element(By.TAG_NAME, "body").send_keys(Keys.ARROW_LEFT)
    wait_text(d, "frame 14 of 24", 20)
    settle(d)
    d.find_element(By.TAG_NAME, "body").send_keys(Keys.ARROW_RIGHT)
    wait_text(d, "frame 15 of 24", 20)  # 0:14, where nobody is on screen
    settle(d)
    d.find_element(By.TAG_NAME, "body").send_keys("n")
    settle(d)
    wait_text(d, "frame 16 of 24")  # Nobody moves on to the next frame (0:15: Red)
    d.find_element(By.TAG_NAME, "body").send_keys("1")
    settle(d)
    wait_text(d, "14 of 24 frames labelled")
    wait_text(d, "Red ✓", 10)

    go(d, "Train")
    click_button(d, "Train")
    wait_text(d, "How well the model does", 120)
    text = body(d)
    assert "Finds Red in" in text and "Finds Blue in" in text
    shot(d, "train_own")

    go(d, "Results")
    wait_for(d, lambda d: len(d.find_elements(By.CSS_SELECTOR, ".js-plotly-plot")) >= 4, 30, "four charts")
    time.sleep(1.0)
    bars = d.find_elements(By.CSS_SELECTOR, ".js-plotly-plot")[0]
    labels = {e.text for e in bars.find_elements(By.CSS_SELECTOR, ".ytick text")}
    assert labels == {"Red", "Blue"}
    assert "Screen time" in body(d) and "Download" in body(d)
    shot(d, "results_own")
