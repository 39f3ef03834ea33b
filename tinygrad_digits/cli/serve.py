"""`tinygrad-digits serve RUN`: a local web page to draw a digit and see what the network sees."""

from __future__ import annotations

import argparse
import ipaddress
import socket
import sys
from typing import Any

from ..training.loading import load_model
from .errors import CLIError
from .options import add_device_arg, port_number

LOOPBACK_NAMES = ("localhost",)


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the `serve` command to an argparse subparsers object; it sets `func=run`."""
    p = subparsers.add_parser(
        "serve",
        help="a local web page: draw a digit, see the prediction and what the network sees",
        description="Start a web app for a trained run (MLP or CNN, 8×8 or 28×28) and print its "
        "address. Draw with the mouse, a pen or a finger, or upload a photo; the page shows the "
        "prediction, the input as the network receives it, hidden activations and the "
        "computation graph. Needs the [serve] extra (Starlette, uvicorn).",
    )
    p.add_argument("run", metavar="RUN", help="model file, or the --out folder of train")
    p.add_argument(
        "--port", type=port_number, default=8000, help="port (default 8000; 0: any free one)"
    )
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to bind (default 127.0.0.1: this machine only)",
    )
    add_device_arg(p, "cpu")
    p.set_defaults(func=run)
    return p


def is_loopback(host: str) -> bool:
    """Whether binding ``host`` keeps the page on this machine."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise CLIError(f"cannot listen on {host}:{port} ({exc.strerror or exc})") from None
    return sock


def run(args: argparse.Namespace) -> int:
    """Serve the page until interrupted."""
    import tinygrad_digits as tg

    from ..serve import Predictor, create_app

    try:
        import uvicorn
    except ImportError:
        raise CLIError(
            'serve needs Starlette and uvicorn: pip install "tinygrad-digits[serve]"'
        ) from None
    device = tg.get_device(args.device)
    model, config = load_model(args.run, device=device)
    app = create_app(Predictor(model, config, device))
    if not is_loopback(args.host):
        print(
            f"warning: --host {args.host} is not a loopback address: anyone who can reach this "
            "machine can use the page (it has no login). Use the default 127.0.0.1 to keep it "
            "on this machine.",
            file=sys.stderr,
        )
    sock = _bind(args.host, args.port)
    port = sock.getsockname()[1]
    shown = f"[{args.host}]" if ":" in args.host else args.host
    print(f"serving {args.run} at http://{shown}:{port}/  (Ctrl+C to stop)", flush=True)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    server.run(sockets=[sock])
    return 0
