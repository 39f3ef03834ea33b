"""ONNX export: a model traced through one forward pass, written for onnxruntime & co.

    from tinygrad_digits.onnx import export
    export(model, example_input, "model.onnx")   # needs: pip install 'tinygrad-digits[onnx]'

tracer.py records the ops, op_table.py maps each to ONNX nodes, exporter.py builds the file.
"""

from .exporter import OPSET, export
from .tracer import ExportError

__all__ = ["OPSET", "ExportError", "export"]
