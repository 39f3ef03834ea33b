"""cupyx.scipy.special.erf in the stand-in: float16 input gives float32, as in CuPy."""

from __future__ import annotations

import math
from typing import Any

import cupy
import numpy as np


def erf(x: Any) -> Any:
    a = cupy._on_current(x)
    cupy._kernel()
    wide = a.astype(np.float32) if a.dtype == np.float16 else a
    try:
        from scipy.special import erf as host_erf

        out = host_erf(wide)
    except ImportError:
        out = np.vectorize(math.erf, otypes=[wide.dtype])(wide)
    return cupy._make(np.asarray(out, dtype=wide.dtype))
