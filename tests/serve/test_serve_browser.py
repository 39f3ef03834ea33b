"""The page in a real browser: draw digits with mouse strokes, upload a photo, and check that the
page shows the prediction, the input, the feature maps and the graph, with no outside request."""

from __future__ import annotations

import math
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

# Strokes in the canvas's own 280×280 pixels, as a person draws them: slightly uneven, not centred.
ZERO = [
    [
        (150 + 55 * math.sin(t / 14 * math.pi), 70 + 85 * (1 - math.cos(t / 14 * math.pi)))
        for t in range(30)
    ]
]
ONE = [[(128, 82), (150, 58), (152, 120), (150, 180), (148, 232)]]
SEVEN = [[(78, 66), (140, 62), (205, 64), (180, 120), (150, 180), (128, 236)]]


@pytest.fixture
def page(browser: Any, server: str) -> Iterator[Any]:
    """The page, with every request that leaves the server refused and remembered."""
    page = browser.new_page()
    outside: list[str] = []

    def only_the_server(route: Any) -> None:
        if route.request.url.startswith(server):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_the_server)
    page.goto(server + "/")
    page.wait_for_selector("#bars .bar-row")
    yield page
    page.close()
    assert outside == [], f"the page asked for something beyond the server: {outside}"


def _draw(page: Any, strokes: list[list[tuple[float, float]]]) -> None:
    box = page.locator("#pad").bounding_box()
    sx, sy = box["width"] / 280, box["height"] / 280
    for points in strokes:
        x0, y0 = points[0]
        page.mouse.move(box["x"] + x0 * sx, box["y"] + y0 * sy)
        page.mouse.down()
        for x, y in points[1:]:
            page.mouse.move(box["x"] + x * sx, box["y"] + y * sy, steps=4)
        page.mouse.up()


def _settled_prediction(page: Any) -> str:
    page.wait_for_selector("body[data-predicting='no']", timeout=10_000)
    return page.locator("#prediction").inner_text()


@pytest.mark.parametrize(("digit", "strokes"), [("0", ZERO), ("1", ONE), ("7", SEVEN)])
def test_drawn_digit_is_read(page: Any, digit: str, strokes: Any) -> None:
    _draw(page, strokes)
    assert _settled_prediction(page).startswith(digit)
    best = page.locator("#bars .bar-row.best")
    assert best.get_attribute("data-class") == digit
    assert page.locator("#bars .bar-row").count() == 10
    assert page.eval_on_selector("#input-view", "c => [c.width, c.height]") == [28, 28]
    assert page.locator("#activations .maps canvas").count() == 8  # the run's 8 first-layer maps
    page.click("#clear")
    assert page.locator("#prediction").inner_text() == "–"


def test_graph_of_the_prediction(page: Any, tmp_path: Path) -> None:
    _draw(page, SEVEN)
    _settled_prediction(page)
    if shutil.which("dot") is None:
        message = page.locator("#graph-message")
        page.wait_for_function("() => document.getElementById('graph-message').textContent")
        assert "not installed" in message.inner_text()
        return
    page.wait_for_selector("#graph svg", timeout=15_000)
    assert page.locator("#graph svg g.node").count() > 5
    shot = page.screenshot(path=str(tmp_path / "serve.png"), full_page=True)
    assert shot[:8] == b"\x89PNG\r\n\x1a\n"
    folder = os.environ.get("TINYGRAD_DIGITS_SCREENSHOTS")  # docs/images, to refresh the docs
    if folder:
        shutil.copy(tmp_path / "serve.png", Path(folder) / "serve.png")


def test_uploaded_photo_is_read(page: Any, tmp_path: Path) -> None:
    from PIL import Image, ImageDraw, ImageFilter

    # A phone photo of a 7: dark ink on uneven, noisy paper, far larger than the canvas.
    rng = np.random.default_rng(0)
    paper = 200 + 30 * np.linspace(0, 1, 900)[None, :] + rng.normal(0, 6, (1200, 900))
    photo = Image.fromarray(np.clip(paper, 0, 255).astype(np.uint8)).convert("RGB")
    pen = ImageDraw.Draw(photo)
    pen.line([(280, 330), (640, 320), (470, 880)], fill=(40, 40, 70), width=55, joint="curve")
    path = tmp_path / "seven.jpg"
    photo.filter(ImageFilter.GaussianBlur(2)).save(path, quality=85)
    page.set_input_files("#upload", str(path))
    assert _settled_prediction(page).startswith("7")
