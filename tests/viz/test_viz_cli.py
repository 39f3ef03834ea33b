"""`tinygrad-digits graph`: the parser and run(), called directly (the CLI main wires them in)."""

from __future__ import annotations

import argparse
import shutil

import numpy as np
import pytest

import tinygrad_digits as tg
from tinygrad_digits import nn
from tinygrad_digits.cli import graph as cli_graph


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="tinygrad-digits")
    cli_graph.add_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["graph", *argv])


def test_parser_defaults():
    args = parse()
    assert args.command == "graph" and args.func is cli_graph.run
    assert args.output == "graph.svg" and args.model is None
    assert not args.backward and not args.grads and args.depth is None


def test_writes_a_dot_file_without_graphviz(tmp_path, capsys):
    out = tmp_path / "mlp.dot"
    assert cli_graph.run(parse("--hidden", "16,8", "--data", "random", "-o", str(out))) == 0
    text = out.read_text()
    assert "layers.0.weight" in text and "(16, 64)" in text and "layers.2: Linear" in text
    assert "wrote" in capsys.readouterr().out


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_grads_and_backward_view_svg(tmp_path, capsys):
    out = tmp_path / "mlp.svg"
    code = cli_graph.run(
        parse("--hidden", "16", "--grads", "--backward", "--depth", "1", "-o", str(out))
    )
    assert code == 0
    svg = out.read_text()
    assert "<svg" in svg and "CrossEntropyBackward" in svg and "layers.0" in svg
    printed = capsys.readouterr().out
    assert "grad norm" in printed and "layers.0.weight" in printed


def test_missing_dot_writes_dot_and_says_how_to_install(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    out = tmp_path / "mlp.svg"
    assert cli_graph.run(parse("--hidden", "8", "-o", str(out))) == 1
    err = capsys.readouterr().err
    assert "apt-get install graphviz" in err and "brew install graphviz" in err
    assert (tmp_path / "mlp.dot").read_text().startswith("digraph")


def test_loads_a_saved_mlp(tmp_path):
    tg.manual_seed(0)
    model = nn.MLP(64, [12], 10)
    path = tmp_path / "model.npz"
    np.savez(path, **{k: v.numpy() for k, v in model.state_dict().items()})
    loaded = cli_graph.load_mlp(path)
    assert [layer.out_features for layer in loaded.layers] == [12, 10]
    np.testing.assert_array_equal(
        loaded.layers[0].weight.detach().numpy(), model.layers[0].weight.detach().numpy()
    )
    out = tmp_path / "g.dot"
    assert cli_graph.run(parse(str(path), "--data", "random", "-o", str(out))) == 0
    assert "(12, 64)" in out.read_text()


def test_bad_input_is_reported(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:  # argparse rejects it, with the usage status 2
        parse("--hidden", "16,x")
    assert exc.value.code == 2 and "separated by commas" in capsys.readouterr().err
    assert cli_graph.run(parse(str(tmp_path / "missing.npz"), "-o", str(tmp_path / "g.dot"))) == 2
    assert "no saved model" in capsys.readouterr().err
    bad = tmp_path / "other.npz"
    np.savez(bad, a=np.zeros(3))
    assert cli_graph.run(parse(str(bad), "-o", str(tmp_path / "g.dot"))) == 2
    assert "not an nn.MLP state dict" in capsys.readouterr().err
    assert cli_graph.run(parse("-o", str(tmp_path / "g.docx"))) == 2
