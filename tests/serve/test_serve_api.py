"""`POST /predict` and `POST /graph` through Starlette's test client: answers for good pictures,
a JSON error with a 4xx status for every bad request."""

from __future__ import annotations

import importlib.util
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

if not any(importlib.util.find_spec(name) for name in ("httpx2", "httpx")):
    pytest.skip("Starlette's test client needs httpx2: pip install httpx2", allow_module_level=True)

from tinygrad_digits.data import preprocess_digit_image  # noqa: E402
from tinygrad_digits.serve import MAX_BODY_BYTES, MAX_SIDE, Predictor, create_app  # noqa: E402
from tinygrad_digits.training.models import build_model, make_config  # noqa: E402


def _png(array: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def _one() -> np.ndarray:
    """A drawn 1: a black bar on white paper, 120×120."""
    paper = np.full((120, 120), 255, dtype=np.uint8)
    paper[20:100, 55:66] = 0
    return paper


@pytest.fixture
def mlp_client() -> Any:
    """An (untrained) 8×8 MLP with two hidden layers behind the app."""
    from starlette.testclient import TestClient

    config = make_config("mlp", side=8, hidden=[12, 6])
    model = build_model(config)
    model.eval()
    return TestClient(create_app(Predictor(model, config)), raise_server_exceptions=False)


def test_png_answer_has_classes_probabilities_input_and_strips(mlp_client: Any) -> None:
    answer = mlp_client.post(
        "/predict", content=_png(_one()), headers={"content-type": "image/png"}
    )
    assert answer.status_code == 200
    body = answer.json()
    assert body["classes"] == [str(k) for k in range(10)]
    assert len(body["probabilities"]) == 10
    assert sum(body["probabilities"]) == pytest.approx(1.0, abs=1e-4)
    assert body["prediction"] == int(np.argmax(body["probabilities"]))
    # the input exactly as `predict` makes it (0–16 there, 0–1 on the page)
    expected = preprocess_digit_image(_one(), size=8) / 16
    np.testing.assert_allclose(body["input"], expected, atol=1e-4)
    assert [(a["kind"], len(a["values"])) for a in body["activations"]] == [
        ("strip", 12),
        ("strip", 6),
    ]


def test_canvas_pixels_as_json(mlp_client: Any) -> None:
    grey = _one()
    rgba = np.stack([grey, grey, grey, np.full_like(grey, 255)], axis=-1)
    as_rgba = {"width": 120, "height": 120, "rgba": rgba.ravel().tolist()}
    first = mlp_client.post("/predict", json=as_rgba).json()
    second = mlp_client.post("/predict", json={"pixels": grey.tolist()}).json()
    png = mlp_client.post("/predict", content=_png(grey), headers={"content-type": "image/png"})
    assert first["probabilities"] == second["probabilities"] == png.json()["probabilities"]


def _error(answer: Any, status: int) -> str:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/json"
    message = answer.json()["error"]
    assert "Traceback" not in message
    return message


@pytest.mark.parametrize(
    ("content", "content_type", "status", "says"),
    [
        (b"", "image/png", 400, "empty"),
        (b"\x89PNG\r\n\x1a\nnot really", "image/png", 400, "cannot read the body"),
        (b"GIF89a", "text/plain", 415, "text/plain"),
        (b"<html></html>", "", 400, "not an image"),
        (b"{not json", "application/json", 400, "not valid JSON"),
        (b"[1, 2, 3]", "application/json", 400, "JSON object"),
        (b'{"pixels": [[1, 2], [3]]}', "application/json", 400, "cannot read the pixels"),
        (b'{"pixels": [[1, 2], [3, 999]]}', "application/json", 400, "0 to 255"),
        (b'{"width": 2, "height": 2, "rgba": [0, 0]}', "application/json", 400, "needs 16"),
        (b'{"width": 100000, "height": 1, "rgba": []}', "application/json", 413, "per side"),
    ],
)
def test_malformed_requests(
    mlp_client: Any, content: bytes, content_type: str, status: int, says: str
) -> None:
    answer = mlp_client.post("/predict", content=content, headers={"content-type": content_type})
    assert says in _error(answer, status)


def test_oversized_body_is_refused(mlp_client: Any) -> None:
    big = b"\0" * (MAX_BODY_BYTES + 1)
    answer = mlp_client.post("/predict", content=big, headers={"content-type": "image/png"})
    assert "over" in _error(answer, 413)


def test_oversized_body_without_length_is_refused_while_read(mlp_client: Any) -> None:
    def chunks() -> Any:  # streamed: no Content-Length to judge by
        for _ in range(5):
            yield b"\0" * (MAX_BODY_BYTES // 4)

    answer = mlp_client.post("/predict", content=chunks(), headers={"content-type": "image/png"})
    assert "over" in _error(answer, 413)


def test_huge_dimensions_are_refused_before_decoding(mlp_client: Any) -> None:
    wide = _png(np.zeros((2, MAX_SIDE + 1), dtype=np.uint8))  # small file, too many columns
    assert len(wide) < MAX_BODY_BYTES
    answer = mlp_client.post("/predict", content=wide, headers={"content-type": "image/png"})
    assert f"at most {MAX_SIDE}" in _error(answer, 413)


def test_blank_picture_says_no_ink(mlp_client: Any) -> None:
    blank = _png(np.full((50, 50), 255, dtype=np.uint8))
    answer = mlp_client.post("/predict", content=blank, headers={"content-type": "image/png"})
    assert "no ink" in _error(answer, 422)


def test_unknown_path_and_method(mlp_client: Any) -> None:
    assert _error(mlp_client.get("/nothing"), 404)
    assert _error(mlp_client.get("/predict"), 405)


def test_page_and_info(mlp_client: Any) -> None:
    page = mlp_client.get("/")
    assert page.status_code == 200 and 'id="prediction"' in page.text
    assert "http" not in page.text.replace("http-equiv", "")  # no CDN: everything from here
    script = mlp_client.get("/static/app.js")
    assert script.status_code == 200 and "/predict" in script.text
    info = mlp_client.get("/info").json()
    assert (info["model"], info["side"], len(info["classes"])) == ("mlp", 8, 10)


def test_graph_without_dot_says_so(mlp_client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("shutil.which", lambda *args, **kwargs: None)  # no Graphviz here
    answer = mlp_client.post("/graph", content=_png(_one()), headers={"content-type": "image/png"})
    body = answer.json()
    assert answer.status_code == 200 and body["svg"] is None
    assert "not installed" in body["message"]
    assert body["dot"].startswith("digraph")
    assert mlp_client.get("/info").json()["dot_available"] is False


def test_graph_svg_has_this_inputs_values(mlp_client: Any) -> None:
    from tinygrad_digits.viz import dot_available

    if not dot_available():
        pytest.skip("Graphviz's dot is not installed")
    answer = mlp_client.post("/graph", content=_png(_one()), headers={"content-type": "image/png"})
    body = answer.json()
    assert body["svg"].lstrip().startswith(("<?xml", "<svg", "<!DOCTYPE"))
    assert "data norm" in body["svg"]  # each box carries the values of this input


def test_the_page_and_predict_agree(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The CLI's predict and the page give the same probabilities for the same file."""
    from starlette.testclient import TestClient

    from tinygrad_digits.cli import main
    from tinygrad_digits.training import save_checkpoint
    from tinygrad_digits.training.loading import load_model

    config = make_config("mlp", side=8, hidden=[12])
    model = build_model(config)
    save_checkpoint(tmp_path / "model.npz", model, config)
    image = tmp_path / "one.png"
    image.write_bytes(_png(_one()))
    assert main(["predict", str(tmp_path / "model.npz"), str(image), "--json", "--top", "10"]) == 0
    cli = {t["class"]: t["probability"] for t in json.loads(capsys.readouterr().out)["top"]}
    loaded, loaded_config = load_model(str(tmp_path / "model.npz"))
    client = TestClient(create_app(Predictor(loaded, loaded_config)))
    page = client.post(
        "/predict", content=image.read_bytes(), headers={"content-type": "image/png"}
    )
    assert [cli[k] for k in range(10)] == pytest.approx(page.json()["probabilities"], abs=1e-6)
