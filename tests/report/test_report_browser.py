"""report.html in a real browser: headless Chromium loads it, offline, at phone and laptop size.

A small script appended to a copy of the page measures, after the load event, whether
every image decoded, whether MathML was laid out as math (each fraction's numerator
sits above its denominator, which only happens when the browser renders MathML), whether
any raw LaTeX is left in the text, and whether the page fits the window's width. The
results are written into the DOM, which ``--dump-dom`` prints. Skips only when no
Chromium is installed (CI installs the Debian package ``chromium``).
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from matplotlib.image import imread

from handgrad.reproduce import runner as rp
from handgrad.reproduce.plan import smoke_plan

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
PARTS = ("checks-layers", "checks-formulas", "multitask", "vae-gauss-diag")
RESULT_ID = "handgrad-browser-check"

PROBE = """
<script>
window.addEventListener("load", () => {
  const imgs = [...document.images];
  const maths = [...document.querySelectorAll("math")];
  const fracs = [...document.querySelectorAll("mfrac")];
  const width = document.documentElement.clientWidth;
  const stacked = fracs.filter((f) => {
    const [num, den] = f.children;
    return num && den && num.getBoundingClientRect().bottom <= den.getBoundingClientRect().top + 1;
  });
  const result = {
    images: imgs.length,
    images_loaded: imgs.filter((i) => i.complete && i.naturalWidth > 0 && i.naturalHeight > 0)
      .length,
    images_fit: imgs.filter((i) => i.getBoundingClientRect().right <= width + 1).length,
    maths: maths.length,
    maths_sized: maths.filter((m) => {
      const b = m.getBoundingClientRect();
      return b.width > 0 && b.height > 0;
    }).length,
    fracs: fracs.length,
    fracs_stacked: stacked.length,
    raw_latex: (document.body.innerText.match(/\\$\\$|\\\\[A-Za-z]+/g) || []).slice(0, 5),
    page_width: document.documentElement.scrollWidth,
    viewport: width,
  };
  const pre = document.createElement("pre");
  pre.id = "RESULT_ID";
  pre.textContent = JSON.stringify(result);
  document.body.appendChild(pre);
});
</script>
""".replace("RESULT_ID", RESULT_ID)


def _browser() -> str | None:
    return next((p for b in BROWSERS if (p := shutil.which(b))), None)


def _chromium(browser: str, profile: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def browser() -> str:
    path = _browser()
    if path is None:
        pytest.skip("no Chromium: apt-get install -y chromium")
    return path


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real report (checks, multi-task run, a 2-D VAE), and a probed copy of it."""
    out = tmp_path_factory.mktemp("browser")
    rp.reproduce(out, smoke_plan(), only=PARTS, download=False, log=lambda line: None)
    page = (out / "report.html").read_text()
    (out / "probed.html").write_text(page.replace("</body>", PROBE + "</body>"))
    return out


def _measure(browser: str, page: Path, profile: Path, width: int, height: int) -> dict:
    run = _chromium(
        browser,
        profile,
        f"--window-size={width},{height}",
        "--virtual-time-budget=10000",
        "--dump-dom",
        page.as_uri(),
    )
    found = re.search(rf'<pre id="{RESULT_ID}">(.*?)</pre>', run.stdout, re.S)
    assert found, f"the probe did not run; chromium said: {run.stderr[-2000:]}"
    return json.loads(html.unescape(found.group(1)))


@pytest.mark.parametrize("width,height", [(1280, 900), (390, 844)], ids=["laptop", "phone"])
def test_images_load_and_math_renders(
    browser: str, report: Path, tmp_path: Path, width: int, height: int
) -> None:
    r = _measure(browser, report / "probed.html", tmp_path / "profile", width, height)
    pngs = list(report.glob("*/*.png"))
    assert r["images"] == len(pngs) > 0
    assert r["images_loaded"] == r["images"]
    assert r["images_fit"] == r["images"]  # scaled to the column, never wider than the screen
    assert r["maths"] >= 15 and r["maths_sized"] == r["maths"]
    assert r["fracs"] > 10 and r["fracs_stacked"] == r["fracs"]  # laid out as math
    assert r["raw_latex"] == []
    assert r["page_width"] <= r["viewport"]  # wide tables and formulas scroll in their box


def test_screenshot_shows_the_page(browser: str, report: Path, tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    run = _chromium(
        browser,
        tmp_path / "profile",
        "--window-size=1100,1400",
        f"--screenshot={shot}",
        (report / "report.html").as_uri(),
    )
    assert shot.is_file(), run.stderr[-2000:]
    pixels = imread(shot)
    assert pixels.shape[:2] == (1400, 1100)
    grey = pixels[..., :3].mean(axis=2)
    assert (grey < 0.5).mean() > 0.005  # text and figures, not a blank page
