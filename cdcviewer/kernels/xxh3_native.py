"""xxh3-128 without the GIL: python-xxhash's own C ``XXH3_128bits`` called from a numba
loop (see ``fingerprint.py``)."""

from __future__ import annotations

import ctypes
import threading

import numba
import numpy as np
import xxhash
from llvmlite import binding, ir
from numba.core import cgutils, types
from numba.extending import intrinsic

from cdcviewer.base.numba_ready import numba_ready

numba_ready()  # before the first decorator asks numba for its target (base/numba_ready.py)

_SYMBOL = "XXH3_128bits"


@intrinsic
def _call_xxh3_128(typingctx, address, length):  # pragma: no cover - compiled
    """``XXH3_128bits(ptr, len)`` -> (low64, high64): its C struct return, as LLVM sees it."""
    signature = types.UniTuple(types.uint64, 2)(types.uintp, types.uintp)

    def codegen(context, builder, sig, args):
        i64, bytes_ptr = ir.IntType(64), ir.IntType(8).as_pointer()
        function_type = ir.FunctionType(ir.LiteralStructType([i64, i64]), [bytes_ptr, i64])
        function = cgutils.get_or_insert_function(builder.module, function_type, _SYMBOL)
        result = builder.call(function, [builder.inttoptr(args[0], bytes_ptr), args[1]])
        parts = [builder.extract_value(result, 0), builder.extract_value(result, 1)]
        return context.make_tuple(builder, sig.return_type, parts)

    return signature, codegen


@numba.njit(nogil=True, cache=True, boundscheck=False)
def _xxh3_rows(data, offsets, lengths, out):  # pragma: no cover - compiled
    base = data.ctypes.data
    for i in range(offsets.shape[0]):
        low, high = _call_xxh3_128(base + offsets[i], lengths[i])
        out[i, 0] = high  # the canonical digest is the high half first, big-endian
        out[i, 1] = low


def xxh3_rows(data: np.ndarray, offsets: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    words = np.empty((len(offsets), 2), dtype=np.uint64)
    if len(offsets):
        # The C function reads where it is told: never past the buffer.
        if offsets.min() < 0 or (offsets + lengths).max() > len(data):
            raise ValueError("chunk ranges reach outside the buffer")
        _xxh3_rows(
            data, offsets.astype(np.int64, copy=False), lengths.astype(np.int64, copy=False), words
        )
    return words.astype(">u8").view(np.uint8).reshape(len(offsets), 16)


_native_lock = threading.Lock()
_native_ok: bool | None = None


def native_xxh3() -> bool:
    """Whether the GIL-free xxh3 path is available and agrees with python-xxhash."""
    global _native_ok
    if _native_ok is None:
        with _native_lock:
            if _native_ok is None:
                _native_ok = _set_up_native()
    return _native_ok


def _set_up_native() -> bool:
    try:
        import xxhash._xxhash as extension

        address = ctypes.cast(getattr(ctypes.CDLL(extension.__file__), _SYMBOL), ctypes.c_void_p)
        binding.add_symbol(_SYMBOL, address.value)
        sample = np.frombuffer(bytes(range(256)) * 8, dtype=np.uint8)
        # Every length class of XXH3-128 (0, 1-3, 4-8, 9-16, 17-128, 129-240, long).
        lengths = np.array([0, 1, 3, 4, 8, 9, 16, 17, 128, 129, 240, 241, 1000, 2040])
        offsets = np.full(len(lengths), 5)
        rows = xxh3_rows(sample, offsets, lengths)
        expected = [xxhash.xxh3_128_digest(sample[5 : 5 + n].tobytes()) for n in lengths]
        return [bytes(row) for row in rows] == expected
    except Exception:  # any failure at all means: use python-xxhash
        return False
