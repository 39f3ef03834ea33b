"""The stand-in's own state: host syncs counted, devices, injected failures."""

from __future__ import annotations

syncs = 0  # device-to-host reads so far
uploads = 0  # host-to-device copies so far (cupy.asarray/array of host data)
arrays = 0  # arrays made so far (results of operations, views, uploads, random draws)
launches = 0  # kernels so far: arrays made in new memory and in-place writes (views are none)
device_count = 2
current = [0]  # the current device, as cupy.cuda.Device(n) sets it
allow_sync = [True]
fusing = [0]  # > 0 inside a cupy.fuse function: only elementwise math and reductions allowed
fail_kernel: BaseException | None = None  # raised by the next elementwise op, then cleared
fail_gemm: BaseException | None = None  # raised by the next matmul, then cleared
hidden: set[str] = set()  # names to pretend this CuPy lacks (an old CuPy without array API)


def reset() -> None:
    global syncs, uploads, arrays, launches, fail_kernel, fail_gemm
    syncs = uploads = arrays = launches = 0
    fail_kernel = fail_gemm = None
    hidden.clear()
    current[0] = 0
    allow_sync[0] = True
    fusing[0] = 0
