"""The dashboard in a real browser: headless Chromium (Debian) driven by Selenium.

Starts ``streamlit run app.py`` on a free port with temporary SCREENTIME_DATA / SCREENTIME_CACHE. Its very
first request is a bookmark of the Train page (it must open there, not on the default page); it looks at the
demo project (and saves the screenshots of docs/screenshots/, the Start page's too), ticks two characters on
one Suggested frame (nothing may move under the mouse) and, from a stale second tab, a tick that must not
erase the first tab's. Then it does what a newcomer does, in a new session on the default page: creates a
project (the box opens at the first click, says why an empty name is refused, and closes once the project is
made), uploads a generated 24-second video with two characters, samples it (real VGG16) in the background
while visiting another page, cancels a second sampling, adds the characters, ticks frames with the mouse and
the keyboard (three quick presses that must all land), trains, and finds the screen-time chart with the right
names on the Results page.

Skipped when Chromium, chromedriver or Selenium are missing. Takes about two minutes on 2 cores.
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

from core.project import Project, list_projects

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SERVER_LOG: list[Path] = []  # the running server's log (the fixture sets it)
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
    SERVER_LOG[:] = [tmp / "server.log"]
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
    raise AssertionError(f"timed out waiting for {what or cond}; page says: {body(d)[-1500:]}{server_errors()}")


def server_errors() -> str:
    """The server log's last traceback (what a background job logged when it failed unexpectedly), if any."""
    if not SERVER_LOG or not SERVER_LOG[0].exists():
        return ""
    text = SERVER_LOG[0].read_text(errors="replace")
    at = text.rfind("Traceback")
    return f"\n--- the server logged ---\n{text[max(at, 0) - 300:][:4000]}" if at >= 0 else ""


def wait_text(d, text: str, timeout: float = 60) -> None:
    wait_for(d, lambda d: text in body(d), timeout, repr(text))


def settle(d, timeout: float = 60) -> None:
    """Wait until the script run triggered by the last action has finished."""
    time.sleep(0.4)
    wait_for(d, lambda d: not d.find_elements(By.CSS_SELECTOR, '[data-testid="stStatusWidget"] *')
             or "Running" not in d.find_element(By.CSS_SELECTOR, '[data-testid="stStatusWidget"]').text,
             timeout, "the app to finish running")
    time.sleep(0.3)


def click_button(d, label: str, within: str = "") -> None:
    """Click the first visible button called ``label`` (inside the element of CSS selector ``within``), once the
    page shows it (a loaded machine draws a page's lower parts a while after its title), looked up again when the
    page replaced it meanwhile (see :func:`tick`)."""
    def buttons(d) -> list:
        root = d.find_element(By.CSS_SELECTOR, within) if within else d
        return [b for b in root.find_elements(By.TAG_NAME, "button")
                if label in [x.strip() for x in b.text.split("\n")] and b.is_displayed()]

    for attempt in range(10):
        wait_for(d, lambda d: buttons(d), 60, f"a button {label!r}")
        try:
            buttons(d)[0].click()
            break
        except (StaleElementReferenceException, IndexError):
            if attempt == 9:
                raise
            time.sleep(0.3)
    settle(d)


def keys_ready(d) -> None:
    """Wait until the page's key listener (pages/keys.py) is in the document: a press sent before it is
    mounted reaches nobody (a slow machine can show the page a moment before its components)."""
    wait_for(d, lambda d: d.execute_script(
        "return !!(window.__screentimeKeys && window.__screentimeKeys.handler)"), 30, "the key listener")


def press(d, keys: str) -> None:
    """Type ``keys`` on the page (not in a text box), once its key listener is there."""
    keys_ready(d)
    d.find_element(By.TAG_NAME, "body").send_keys(keys)


def visible_buttons(d) -> list[str]:
    """The texts of the buttons on screen, read again if the page replaced one while they were read."""
    for attempt in range(10):
        try:
            return [b.text for b in d.find_elements(By.TAG_NAME, "button") if b.is_displayed()]
        except StaleElementReferenceException:
            if attempt == 9:
                raise
            time.sleep(0.3)
    return []


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
    """Click one character's pill on the index-th frame card. The sidebar's job progress reruns parts of the
    page, so an element found may be replaced before it is read or clicked: look it up again then (a click that
    raised did not happen, so trying again never ticks twice)."""
    end = time.time() + 30
    while True:
        try:
            group = frame_pills(d)[index]
            [btn] = [b for b in group.find_elements(By.TAG_NAME, "button") if b.text.strip() == name]
            btn.click()
            break
        except (StaleElementReferenceException, IndexError, ValueError):  # replaced, or not drawn yet
            assert time.time() < end, f"no pill {name!r} on frame {index}"
            time.sleep(0.25)
    settle(d)


def captions(d) -> list[str]:
    """The time captions of the frame cards on screen, in order ("0:07")."""
    out = []
    for e in d.find_elements(By.CSS_SELECTOR, '[data-testid="stCaptionContainer"]'):
        text = e.text.strip()
        if " · " in text and text.split(" · ")[0].replace(":", "").replace(".", "").isdigit():
            out.append(text.split(" · ")[0])
    return out


def seconds(caption: str) -> float:
    m, s = caption.split(":")
    return int(m) * 60 + float(s)


def sidebar_text(d) -> str:
    try:
        return d.find_element(By.CSS_SELECTOR, '[data-testid="stSidebar"]').text
    except (StaleElementReferenceException, WebDriverException):
        return ""


def open_project(server, name: str) -> Project:
    root = server["tmp"] / "data"
    slug = next(s for s, n in list_projects(root) if n == name)
    return Project(root / slug)


def view(d, name: str) -> None:
    [switch] = [g for g in d.find_elements(By.CSS_SELECTOR, '[data-testid="stButtonGroup"]') if "One by one" in g.text]
    [btn] = [b for b in switch.find_elements(By.TAG_NAME, "button") if b.text.strip() == name]
    btn.click()
    settle(d)


# ---- the test -------------------------------------------------------------------------------------------------
def test_demo_then_own_video_end_to_end(server, browser):
    d, url = browser, server["url"]
    d.get(f"{url}/train")  # a bookmark, on a server that has just started
    wait_for(d, lambda d: d.find_element(By.TAG_NAME, "h1").text.startswith("Train"), 90, "the bookmarked page")
    wait_text(d, "Finds Bunny in", 60)
    settle(d)
    demo_pages(d)
    demo = open_project(server, "Demo - Big Buck Bunny")
    suggested_ticks_land_where_clicked(d, demo)
    stale_tab_keeps_the_other_tabs_tick(d, url, demo)
    own_video(d, server)


def demo_pages(d) -> None:
    go(d, "Start")
    wait_text(d, "Is your video a cartoon or live action?")
    wait_text(d, "The characters of Demo - Big Buck Bunny")
    time.sleep(1.5)  # the character cards' pictures
    shot(d, "start")
    go(d, "Video")
    wait_text(d, "Ready: 60 frames", 60)
    assert "This demo uses a minute of Big Buck Bunny" in body(d)
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
    go(d, "Series")  # the Series of one project
    time.sleep(1.5)
    shot(d, "series")


def suggested_ticks_land_where_clicked(d, demo: Project) -> None:
    """Issue 15, point 1: a tick used to remove its frame and shift every card under the mouse."""
    go(d, "Label")
    view(d, "Suggested")
    wait_for(d, lambda d: len(frame_pills(d)) >= 4, 30, "the suggested frames")
    before = captions(d)
    ids = {c.name: c.id for c in demo.characters()}
    v = demo.videos()[0]
    tick(d, 0, "Gimera")
    assert captions(d) == before  # nothing moved
    tick(d, 0, "Bunny")  # a second character on the same frame
    tick(d, 1, "Frank")
    assert captions(d) == before
    labels = demo.frame_labels(v.id)
    assert labels[seconds(before[0])] == {ids["Gimera"], ids["Bunny"]}
    assert labels[seconds(before[1])] == {ids["Frank"]}


def stale_tab_keeps_the_other_tabs_tick(d, url: str, demo: Project) -> None:
    """Issue 15, point 2: a second tab, not refreshed, used to erase the first tab's tick on the same frame."""
    view(d, "Grid")
    wait_for(d, lambda d: len(frame_pills(d)) == 12, 30, "the frame grid")
    tab_a = d.current_window_handle
    d.switch_to.new_window("tab")
    d.get(f"{url}/label")
    wait_for(d, lambda d: len(frame_pills(d)) == 12, 60, "the frame grid in the second tab")
    settle(d)
    tab_b = d.current_window_handle
    d.switch_to.window(tab_a)
    tick(d, 1, "Frank")  # 0:01
    d.switch_to.window(tab_b)  # still shows 0:01 unlabelled
    tick(d, 1, "Bunny")
    ids = {c.name: c.id for c in demo.characters()}
    assert demo.frame_labels(demo.videos()[0].id)[1.0] == {ids["Frank"], ids["Bunny"]}
    wait_for(d, lambda d: "0:01 · labelled" in [c.text for c in d.find_elements(
        By.CSS_SELECTOR, '[data-testid="stCaptionContainer"]')], 10, "tab B shows what the store holds")
    d.close()
    d.switch_to.window(tab_a)


def new_project_box(d) -> list:
    return [e for e in d.find_elements(By.CSS_SELECTOR, 'input[aria-label="Name of the new project"]')
            if e.is_displayed()]


def own_video(d, server) -> None:
    d.get(server["url"])  # a newcomer arrives: a new session, on the default page
    wait_for(d, lambda d: d.find_element(By.TAG_NAME, "h1").text.startswith("Start"), 60, "the Start page")
    settle(d)
    # Issue 15, point 9: the first click on New project, on the first page of a session, opened nothing
    click_button(d, "New project")
    wait_for(d, lambda d: new_project_box(d), 10, "the New project box at the first click")
    click_button(d, "Create project")  # no name: said below the button
    wait_text(d, "needs a name", 20)
    if not new_project_box(d):
        click_button(d, "New project")
    new_project_box(d)[0].send_keys("My cartoon")
    click_button(d, "Create project")
    wait_text(d, "Created the project My cartoon")
    wait_text(d, "This project has no video yet")
    assert not new_project_box(d)  # the box closed itself
    video = make_video(server["tmp"] / "cartoon.mp4", {k: v for k, v in SCHEDULE.items()}, 24.0, fps=10.0)
    d.find_element(By.CSS_SELECTOR, 'input[type="file"]').send_keys(str(video))
    wait_text(d, "Added cartoon.mp4", 60)
    settle(d)
    assert "a first guess" in body(d)  # nothing measured on this machine yet
    background_sampling(d, server)
    mine = open_project(server, "My cartoon")
    label_own(d, mine)

    go(d, "Train")
    click_button(d, "Train")
    wait_text(d, "The model is ready", 400)  # in the background, then the page shows the result (a slow CI: 400 s)
    wait_text(d, "How well the model does", 30)
    wait_text(d, "Finds Red in", 30)  # each character's card, drawn after the heading on a loaded machine
    wait_text(d, "Finds Blue in", 30)
    settle(d)  # the sidebar's last progress bar goes when the page's run ends
    shot(d, "train_own")

    go(d, "Results")
    wait_for(d, lambda d: len(d.find_elements(By.CSS_SELECTOR, ".js-plotly-plot")) >= 4, 30, "four charts")
    wait_for(d, lambda d: {e.text for e in d.find_elements(By.CSS_SELECTOR, ".js-plotly-plot")[0].find_elements(
        By.CSS_SELECTOR, ".ytick text")} == {"Red", "Blue"}, 30, "the screen-time bars of Red and Blue")
    assert "Screen time" in body(d) and "Download" in body(d)
    shot(d, "results_own")


def background_sampling(d, server) -> None:
    """Issue 15, point 5: leaving the Video page used to cancel sampling without a word."""
    click_button(d, "Sample")
    wait_for(d, lambda d: "Sampling cartoon.mp4" in sidebar_text(d), 30, "the job in the sidebar")
    assert "left" in sidebar_text(d)  # an estimate from the first moment
    go(d, "Label")  # another page: the job goes on, and its progress is still in the sidebar
    assert "Sampling cartoon.mp4" in sidebar_text(d) or "is ready" in sidebar_text(d)
    wait_text(d, "cartoon.mp4 is ready: 24 frames", 300)  # real VGG16 features
    go(d, "Video")
    wait_text(d, "Ready: 24 frames")
    assert "looked at this video before" in body(d)  # at this step, ready in a moment
    shot(d, "video_own")
    # a second video, whose sampling is cancelled from the sidebar
    second = make_video(server["tmp"] / "second.mp4", {k: v for k, v in SCHEDULE.items()}, 30.0, fps=10.0)
    d.find_element(By.CSS_SELECTOR, 'input[type="file"]').send_keys(str(second))
    wait_text(d, "Added second.mp4", 60)
    settle(d)
    assert "about 30 frames" in body(d) and "measured on this computer" in body(d)
    click_button(d, "Sample")
    wait_for(d, lambda d: "Cancel" in sidebar_text(d), 30, "the Cancel button")
    click_button(d, "Cancel", '[data-testid="stSidebar"]')
    wait_text(d, "cancelled. Nothing was kept from this run", 120)
    assert "Not sampled yet" in body(d)


def label_own(d, mine: Project) -> None:
    go(d, "Label")
    for name in ("Red", "Blue"):
        box = d.find_element(By.CSS_SELECTOR, 'input[aria-label="New character"]')
        box.send_keys(name)
        click_button(d, "Add")
        wait_text(d, f"Added {name}", 20)
    settle(d)
    assert "Rename" not in visible_buttons(d)  # the Characters panel folded away
    wait_for(d, lambda d: len(frame_pills(d)) == 12, 30, "the frame grid")
    for t in range(12):  # mouse: tick who is visible in the first 12 frames
        who = truth(float(t))
        for name in who or ["Nobody"]:
            tick(d, t, name)
    wait_text(d, "12 of 24 frames labelled")
    shot(d, "label_own")

    # keyboard: one by one, arrows to move, number keys to tick
    view(d, "One by one")
    wait_text(d, "frame 1 of 24")
    for k in range(2, 15):
        press(d, Keys.ARROW_RIGHT)
        wait_text(d, f"frame {k} of 24", 20)
        settle(d)
    press(d, Keys.ARROW_LEFT)
    wait_text(d, "frame 13 of 24", 20)
    settle(d)
    press(d, Keys.ARROW_RIGHT)
    wait_text(d, "frame 14 of 24", 20)  # 0:13, where nobody is on screen
    settle(d)
    # Issue 15, point 4: three quick presses, all landing (0:13 nobody, 0:14 nobody, 0:15 Red)
    press(d, "nn1")
    wait_text(d, "15 of 24 frames labelled", 20)
    settle(d)
    wait_text(d, "frame 16 of 24")
    wait_text(d, "Red ✓", 10)
    vid = mine.videos()[0].id
    red = next(c.id for c in mine.characters() if c.name == "Red")
    labels = mine.frame_labels(vid)
    assert [labels.get(t) for t in (13.0, 14.0, 15.0)] == [set(), set(), {red}]
