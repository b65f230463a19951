"""Streaming rate conversion by an integer factor (48 kHz <-> 8 kHz for G.711): a windowed-sinc
low-pass applied polyphase, with the filter's history kept between blocks so that a stream cut
into 20 ms blocks converts as if it were whole.  Pure numpy/scipy.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.signal import firwin

__all__ = ["Decimator", "Interpolator"]

TAPS_PER_PHASE = 24
CUTOFF = 0.9  # of the lower rate's Nyquist frequency: 3.6 kHz for 8 kHz


def _lowpass(factor: int) -> npt.NDArray[np.float32]:
    taps = TAPS_PER_PHASE * factor
    h: npt.NDArray[np.float32] = np.asarray(firwin(taps, CUTOFF / factor), dtype=np.float32)
    return h


class Decimator:
    """High rate -> rate / ``factor``: each output sample is the low-pass filter applied at
    every ``factor``-th input sample."""

    def __init__(self, factor: int = 6) -> None:
        self.factor = factor
        self._h = _lowpass(factor)[::-1].copy()  # reversed: a dot product is a convolution
        self._history = np.zeros(self._h.size - 1, dtype=np.float32)
        self._phase = 0  # input samples to skip before the next output

    def __call__(self, x: npt.NDArray[np.floating]) -> npt.NDArray[np.float32]:
        """The outputs of ``x`` (a 1-D block; any length)."""
        full = np.concatenate((self._history, np.asarray(x, dtype=np.float32)))
        # the filter at every input position (one C loop), then every factor-th of them
        every = np.convolve(full, self._h[::-1], "valid")
        out: npt.NDArray[np.float32] = every[self._phase :: self.factor].astype(np.float32)
        self._phase = self._phase + out.size * self.factor - every.size
        self._history = full[full.size - (self._h.size - 1) :]
        return out


class Interpolator:
    """Low rate -> rate x ``factor``: zero-stuffing and the low-pass, done as ``factor``
    short filters on the low-rate input."""

    def __init__(self, factor: int = 6) -> None:
        self.factor = factor
        h = _lowpass(factor) * factor  # the gain zero-stuffing loses
        # phase p of output k*factor+p uses taps p, p+factor, ...; reversed for a dot product
        self._phases = np.stack([h[p::factor][::-1] for p in range(factor)], axis=1)
        self._history = np.zeros(TAPS_PER_PHASE - 1, dtype=np.float32)

    def __call__(self, x: npt.NDArray[np.floating]) -> npt.NDArray[np.float32]:
        """``factor`` outputs per sample of ``x`` (1-D)."""
        full = np.concatenate((self._history, np.asarray(x, dtype=np.float32)))
        windows = np.lib.stride_tricks.sliding_window_view(full, TAPS_PER_PHASE)
        out: npt.NDArray[np.float32] = (windows @ self._phases).reshape(-1)
        self._history = full[full.size - (TAPS_PER_PHASE - 1) :]
        return out
