"""The report in a real headless Chromium: loads from file:// with no console error, images render,
typing in the search box narrows the grid, the filters work."""

import json
import shutil

import pytest
from PIL import Image
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from pipeline.report.build import build_report
from tests.helpers import write_json

CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
]
SAMPLES = [
    ("ball bearing", "deep groove ball bearing", "steel", "maedler"),
    ("flanged bearing", "flanged ball bearing", "stainless steel", "maedler"),
    ("toggle clamp", "horizontal toggle clamp", "steel", "rs_online"),
    ("spur gear", "spur gear with hub", "polyamide", "rs_online"),
    ("butt hinge", "butt hinge for doors", "brass", "rs_online"),
]


@pytest.fixture(scope="module")
def browser():
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    assert chromium and driver, "the report test needs Debian's chromium and chromium-driver (make browser)"
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    session = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=driver))
    yield session
    session.quit()


@pytest.fixture
def report(tmp_path):
    samples = []
    for index, (short, long, material, source) in enumerate(SAMPLES):
        image = f"{short.replace(' ', '_')}/{index}.png"
        (tmp_path / "images" / image).parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (512, 512), (40 * index, 90, 160)).save(tmp_path / "images" / image)
        samples.append(
            {
                "id": str(index),
                "image": image,
                "url": f"https://shop.example/{index}.jpg",
                "label_short": short,
                "label_long": long,
                "description": f"A {long} <b>for</b> machines",
                "material": material,
                "material_finish": None,
                "source": source,
            }
        )
    dataset = write_json(tmp_path / "data" / "ilid.json", samples)
    out = tmp_path / "site" / "report.html"
    assert build_report(dataset, tmp_path / "images", out) == len(SAMPLES)
    return out


def cards(browser):
    return browser.find_elements(By.CSS_SELECTOR, "#grid .card")


def test_report_loads_renders_images_and_filters(browser, report):
    browser.get(report.as_uri())
    WebDriverWait(browser, 10).until(lambda b: len(cards(b)) == len(SAMPLES))
    severe = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert severe == []
    loaded = browser.execute_script("return [...document.images].map(i => i.complete && i.naturalWidth > 0)")
    assert loaded == [True] * len(SAMPLES)
    assert browser.find_element(By.ID, "count").text == f"showing {len(SAMPLES)} of {len(SAMPLES)}"
    assert "<b>" in cards(browser)[0].text  # sample text is shown as text, never run as markup

    browser.find_element(By.ID, "search").send_keys("bearing")
    WebDriverWait(browser, 5).until(lambda b: len(cards(b)) == 2)
    assert all("bearing" in card.text for card in cards(browser))
    assert browser.find_element(By.ID, "count").text == f"showing 2 of {len(SAMPLES)} (2 match)"

    browser.find_element(By.ID, "search").clear()
    browser.execute_script("document.getElementById('search').dispatchEvent(new Event('input'))")
    Select(browser.find_element(By.ID, "source")).select_by_value("rs_online")
    WebDriverWait(browser, 5).until(lambda b: len(cards(b)) == 3)
    Select(browser.find_element(By.ID, "material")).select_by_value("steel")
    WebDriverWait(browser, 5).until(lambda b: len(cards(b)) == 1)
    assert "toggle clamp" in cards(browser)[0].text


def test_embedded_report_needs_no_images_folder(browser, report, tmp_path):
    embedded = tmp_path / "one-file.html"
    build_report(tmp_path / "data" / "ilid.json", tmp_path / "images", embedded, embed=True)
    shutil.rmtree(tmp_path / "images")
    browser.get(embedded.as_uri())
    WebDriverWait(browser, 10).until(lambda b: len(cards(b)) == len(SAMPLES))
    sources = browser.execute_script(
        "return [...document.images].map(i => i.naturalWidth > 0 && i.src.slice(0, 11))"
    )
    assert sources == ["data:image/"] * len(SAMPLES)


def test_report_says_how_labels_were_made_shows_sizes_drops_clusters_and_links_plots(browser, tmp_path):
    images = tmp_path / "images"
    samples, manifest = [], []
    for index, (short, long, material, source) in enumerate(SAMPLES[:3]):
        image = f"part/{index}.png"
        (images / "part").mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (512, 512), (60 * index, 90, 160)).save(images / image)
        samples.append(
            {
                "id": str(index),
                "image": image,
                "url": f"https://shop.example/{index}.jpg",
                "label_short": short,
                "label_long": long,
                "material": material,
                "source": source,
                "label_method": "rules:json",
            }
        )
        manifest.append({"id": str(index), "image": image, "width": 800, "height": 400, "sha256": "x"})
    dataset = write_json(tmp_path / "curated.json", samples)
    (tmp_path / "curated.json.manifest.jsonl").write_text("".join(json.dumps(e) + "\n" for e in manifest))
    cluster = {
        "kept": "0",
        "dropped": ["9"],
        "reason": "duplicate_image",
        "distances": [0],
        "images": {"0": "part/0.png", "9": "part/1.png"},
        "labels": {"0": "ball bearing", "9": "bush"},
    }
    (tmp_path / "curated.json.clusters.jsonl").write_text(json.dumps(cluster) + "\n")
    stats = {"stage": "curate", "read": 5, "kept": 3, "dropped": {"duplicate_image": 1, "too_small": 1}}
    (tmp_path / "curated.json.stats.json").write_text(json.dumps(stats))
    (tmp_path / "plots").mkdir()
    Image.new("RGB", (60, 40)).save(tmp_path / "plots" / "funnel.png")
    out = tmp_path / "report.html"
    build_report(dataset, images, out, plots=tmp_path / "plots")

    browser.get(out.as_uri())
    WebDriverWait(browser, 10).until(lambda b: len(cards(b)) == 3)
    assert "rules backend" in browser.find_element(By.ID, "method").text
    text = cards(browser)[0].text
    assert "rules backend (page text, no LLM)" in text
    assert "800 × 400 px, 50% padding" in text  # a 2:1 source fills half the square
    assert "curate (duplicate image 1, too small 1)" in browser.find_element(By.ID, "drops").text
    link = browser.find_element(By.CSS_SELECTOR, "#plots a")
    assert (
        link.text == "funnel" and link.get_attribute("href") == (tmp_path / "plots" / "funnel.png").as_uri()
    )
    clusters = browser.find_element(By.ID, "clusters")
    assert "1 cluster(s)" in clusters.text and "kept: ball bearing" in clusters.text
    assert "dropped: bush (d 0)" in clusters.text
    assert browser.execute_script(
        "return [...document.querySelectorAll('#clusters img')].every(i => i.complete && i.naturalWidth > 0)"
    )
