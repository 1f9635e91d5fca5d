"""u2net_hf.ui: the web page of `u2net-hf serve`, driven in a real headless Chromium (Debian's `chromium` and
`chromium-driver`; never a downloaded browser): upload a photo, wait for the cut-out, check it is what
`Session.remove` makes, and keep a screenshot for docs/serving.md."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import httpx
import numpy as np
import PIL.Image
import pytest
from serve_process import REPO_ROOT, ServerProcess

from u2net_hf import new_session

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
PHOTO = REPO_ROOT / "docs" / "gallery" / "chelsea.jpg"
SCREENSHOT = REPO_ROOT / "docs" / "assets" / "serving-page.png"


@pytest.fixture(scope="module")
def page_server():
    with ServerProcess("--model", "u2net-lite", "--threads", "2") as running:
        yield running


@pytest.fixture(scope="module")
def browser():
    assert Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists(), (
        "the page test drives Debian's Chromium: apt-get install -y chromium chromium-driver (.ci/run does)"
    )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900"):
        options.add_argument(argument)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SE_OFFLINE", "true")  # Selenium Manager must never fetch a browser or a driver
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        yield driver
        driver.quit()


def test_page_removes_the_background_of_an_uploaded_photo(page_server, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(page_server.url + "/")
    upload = WebDriverWait(browser, 120).until(lambda b: b.find_elements(By.CSS_SELECTOR, "#photo input[type=file]"))
    upload[0].send_keys(str(PHOTO))
    WebDriverWait(browser, 60).until(lambda b: b.find_elements(By.CSS_SELECTOR, "#photo img"))
    browser.find_element(By.CSS_SELECTOR, "#remove").click()
    links = WebDriverWait(browser, 180).until(lambda b: b.find_elements(By.CSS_SELECTOR, "#download a[href]"))
    href = links[0].get_attribute("href")
    assert href.startswith(page_server.url) and href.endswith("chelsea-cutout.png")
    # Both sides of the slider are shown: the photo and the cut-out.
    WebDriverWait(browser, 60).until(lambda b: len(b.find_elements(By.CSS_SELECTOR, "#comparison img")) >= 2)

    cutout = PIL.Image.open(io.BytesIO(httpx.get(href, timeout=60).content))
    assert (cutout.format, cutout.mode, cutout.size) == ("PNG", "RGBA", PIL.Image.open(PHOTO).size)
    expected = new_session("u2net-lite").remove(PHOTO)
    np.testing.assert_array_equal(np.asarray(cutout.getchannel("A")), np.asarray(expected.getchannel("A")))
    alpha = np.asarray(cutout.getchannel("A"))
    assert alpha.min() == 0 and alpha.max() == 255  # a cut-out, not a blank or an opaque copy

    shot = tmp_path / "page.png"
    browser.save_screenshot(str(shot))
    assert PIL.Image.open(shot).size[0] >= 1000
    shutil.copyfile(shot, SCREENSHOT)  # the picture of docs/serving.md, as the page looks now


def test_page_reports_a_bad_upload_in_one_line(page_server, browser, tmp_path):
    """A file that is not an image gets Gradio's error toast with our one line, and the page keeps working."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    client = httpx.Client(base_url=page_server.url, timeout=120)
    # The page's own endpoint, called as the page calls it (Gradio's queue API), with a broken JPEG.
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(PHOTO.read_bytes()[:2000])
    uploaded = client.post("/gradio_api/upload", files={"files": ("broken.jpg", broken.read_bytes())}).json()[0]
    photo = {"path": uploaded, "meta": {"_type": "gradio.FileData"}, "orig_name": "broken.jpg"}
    call = client.post(
        "/gradio_api/call/remove", json={"data": [photo, "u2net-lite", False, 240, 10, 10, False, False, None, "png"]}
    )
    events = client.get(f"/gradio_api/call/remove/{call.json()['event_id']}").text
    assert "event: error" in events and "broken.jpg: truncated" in events, events
    # The browser page is still alive and serving.
    browser.get(page_server.url + "/")
    WebDriverWait(browser, 120).until(lambda b: b.find_elements(By.CSS_SELECTOR, "#remove"))
