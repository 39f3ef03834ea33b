"""`tinygrad-digits serve`: where it listens, what it warns about, and its one-line errors."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tinygrad_digits.cli import main
from tinygrad_digits.cli import serve as serve_command
from tinygrad_digits.training import save_checkpoint
from tinygrad_digits.training.models import build_model, make_config


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.5.0.1", True),
        ("localhost", True),
        ("::1", True),
        ("0.0.0.0", False),
        ("192.168.1.20", False),
        ("::", False),
        ("example.org", False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert serve_command.is_loopback(host) is loopback


@pytest.fixture
def model_file(tmp_path: Path) -> Path:
    config = make_config("mlp", side=8, hidden=[4])
    return save_checkpoint(tmp_path / "model.npz", build_model(config), config)


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[socket.socket]]:
    """Serve without serving: the socket the command would listen on, on loopback."""
    uvicorn = pytest.importorskip("uvicorn")
    pytest.importorskip("starlette")
    sockets: list[socket.socket] = []

    def bind(host: str, port: int) -> socket.socket:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sockets.append(sock)
        return sock

    monkeypatch.setattr(serve_command, "_bind", bind)
    monkeypatch.setattr(uvicorn.Server, "run", lambda self, sockets=None: None)
    yield sockets
    for sock in sockets:
        sock.close()


def test_prints_address_and_binds_loopback_by_default(
    model_file: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("uvicorn")
    pytest.importorskip("starlette")
    hosts: list[str] = []
    real_bind = serve_command._bind
    monkeypatch.setattr(
        serve_command, "_bind", lambda host, port: hosts.append(host) or real_bind(host, port)
    )
    import uvicorn

    monkeypatch.setattr(uvicorn.Server, "run", lambda self, sockets=None: sockets[0].close())
    assert main(["serve", str(model_file), "--port", "0"]) == 0
    out, err = capsys.readouterr()
    assert hosts == ["127.0.0.1"]
    assert out.startswith(f"serving {model_file} at http://127.0.0.1:")
    assert err == ""


def test_non_loopback_host_warns(
    model_file: Path, served: list[socket.socket], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve", str(model_file), "--host", "0.0.0.0", "--port", "0"]) == 0
    out, err = capsys.readouterr()
    assert "warning: --host 0.0.0.0 is not a loopback address" in err
    assert "http://0.0.0.0:" in out


def test_missing_run_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", str(tmp_path / "nothing")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no such model file or folder" in err


def test_bad_port(model_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["serve", str(model_file), "--port", "70000"])
    assert exit_info.value.code == 2
    assert "expected a port number 0–65535, got '70000'" in capsys.readouterr().err
