"""A local web page to draw a digit and see what a trained network sees.

    tinygrad-digits serve runs/digits           # then open http://127.0.0.1:8000

`Predictor` turns a picture into the prediction, the input as the network receives it, hidden
activations and the graph of the computation; `create_app` puts it behind Starlette (the
``[serve]`` extra). The page itself is plain HTML/JS/CSS in ``static/``: no build, no network.
"""

from .app import create_app
from .pictures import MAX_BODY_BYTES, MAX_SIDE, BadPicture, decode_picture
from .predictor import Predictor

__all__ = ["MAX_BODY_BYTES", "MAX_SIDE", "BadPicture", "Predictor", "create_app", "decode_picture"]
