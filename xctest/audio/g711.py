"""ITU-T G.711 mu-law and A-law in numpy, and the telephone-channel round trip built on them.

Owns the code <-> linear conversion (the bit-exact ITU-T G.191 reference algorithm, 16-bit
left-justified samples), the lookup-table codec built from it for the media path (one index
operation per block of any shape), and resample(). Imports only numpy, scipy and the stdlib.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from scipy.signal import resample_poly

from xctest.audio.signals import from_int16, to_int16

G711_RATE = 8000
"""G.711 carries 8 kHz samples."""


def _magnitude(pcm: npt.NDArray[np.integer], shift: int) -> npt.NDArray[np.int32]:
    """|x| >> shift with negative samples one's-complemented first, as G.191 does."""
    x = np.asarray(pcm).astype(np.int32)
    magnitude: npt.NDArray[np.int32] = np.where(x < 0, ~x, x) >> shift
    return magnitude


def ulaw_encode(pcm: npt.NDArray[np.integer]) -> npt.NDArray[np.uint8]:
    """int16 PCM to mu-law codes (0xFF is +0; 0x80 and 0x00 the largest magnitudes)."""
    x = np.asarray(pcm)
    magnitude = np.minimum(_magnitude(x, 2) + 33, 0x1FFF)
    segment = np.zeros(magnitude.shape, dtype=np.int32)
    for edge in range(6, 13):  # segment = 1 + number of significant bits above bit 5
        segment += (magnitude >> edge) > 0
    segment += 1
    code = ((8 - segment) << 4) | (15 - ((magnitude >> segment) & 0x0F))
    return np.where(x >= 0, code | 0x80, code).astype(np.uint8)


def ulaw_decode(code: npt.NDArray[np.integer]) -> npt.NDArray[np.int16]:
    """mu-law codes to int16 PCM (magnitudes up to 32124)."""
    c = np.asarray(code).astype(np.int32)
    inverted = ~c
    exponent = (inverted >> 4) & 0x07
    step = 4 << (exponent + 1)
    magnitude = (0x80 << exponent) + step * (inverted & 0x0F) + step // 2 - 4 * 33
    return np.where(c < 0x80, -magnitude, magnitude).astype(np.int16)


def alaw_encode(pcm: npt.NDArray[np.integer]) -> npt.NDArray[np.uint8]:
    """int16 PCM to A-law codes (even bits inverted: 0xD5 is +0, 0xAA the largest)."""
    x = np.asarray(pcm)
    magnitude = _magnitude(x, 4)
    exponent = (magnitude > 15).astype(np.int32)
    for edge in range(5, 12):  # above 15: 1 + number of significant bits above bit 4
        exponent += (magnitude >> edge) > 0
    mantissa = np.where(exponent > 0, (magnitude >> np.maximum(exponent - 1, 0)) - 16, magnitude)
    code = (exponent << 4) + mantissa
    return (np.where(x >= 0, code | 0x80, code) ^ 0x55).astype(np.uint8)


def alaw_decode(code: npt.NDArray[np.integer]) -> npt.NDArray[np.int16]:
    """A-law codes to int16 PCM (magnitudes 8 to 32256)."""
    c = np.asarray(code).astype(np.int32)
    toggled = (c ^ 0x55) & 0x7F
    exponent = toggled >> 4
    mantissa = (toggled & 0x0F) + np.where(exponent > 0, 16, 0)
    magnitude: npt.NDArray[np.int32] = ((mantissa << 4) + 8) << np.maximum(exponent - 1, 0)
    return np.where(c > 127, magnitude, -magnitude).astype(np.int16)


_ALL_PCM = np.arange(-32768, 32768, dtype=np.int32)
_ALL_CODES = np.arange(256, dtype=np.int32)
ULAW_ENCODE = ulaw_encode(_ALL_PCM)
"""mu-law code of every int16 sample, indexed by the sample's bits as uint16 XOR 0x8000."""
ALAW_ENCODE = alaw_encode(_ALL_PCM)
"""A-law code of every int16 sample, indexed like ``ULAW_ENCODE``."""
ULAW_DECODE = ulaw_decode(_ALL_CODES)
"""int16 sample of every mu-law code."""
ALAW_DECODE = alaw_decode(_ALL_CODES)
"""int16 sample of every A-law code."""


def pcm16_of(x: npt.NDArray[np.floating]) -> npt.NDArray[np.int16]:
    """Float samples in [-1, 1] (any shape) as int16, saturating."""
    scaled = np.multiply(x, 32767.0, dtype=np.float32)
    np.clip(scaled, -32768.0, 32767.0, out=scaled)
    pcm: npt.NDArray[np.int16] = scaled.astype(np.int16)
    return pcm


def table_encode(table: npt.NDArray[np.uint8], pcm: npt.NDArray[np.int16]) -> npt.NDArray[np.uint8]:
    """G.711 codes of int16 samples of any shape: ``table`` is ``ULAW_ENCODE`` or
    ``ALAW_ENCODE``.  Bit-exact with ``ulaw_encode``/``alaw_encode``."""
    index = np.asarray(pcm, dtype=np.int16).view(np.uint16) ^ np.uint16(0x8000)
    codes: npt.NDArray[np.uint8] = table[index]
    return codes


def table_decode(
    table: npt.NDArray[np.int16], codes: npt.NDArray[np.uint8]
) -> npt.NDArray[np.int16]:
    """int16 samples of G.711 codes of any shape: ``table`` is ``ULAW_DECODE`` or
    ``ALAW_DECODE``."""
    pcm: npt.NDArray[np.int16] = table[np.asarray(codes, dtype=np.uint8)]
    return pcm


def resample(x: npt.NDArray[np.floating], rate: int, to_rate: int) -> npt.NDArray[np.float32]:
    """Polyphase resampling (scipy's Kaiser-windowed anti-alias filter) from `rate` to
    `to_rate`; the output keeps time: len(x) * to_rate / rate samples, rounded up."""
    samples = np.asarray(x, dtype=np.float64)
    if rate == to_rate:
        return samples.astype(np.float32)
    g = math.gcd(rate, to_rate)
    return np.asarray(resample_poly(samples, to_rate // g, rate // g), dtype=np.float32)


def _round_trip(
    x: npt.NDArray[np.floating],
    rate: int,
    encode: object,
    decode: object,
) -> npt.NDArray[np.float32]:
    assert callable(encode) and callable(decode)
    narrow = resample(x, rate, G711_RATE)
    decoded = from_int16(decode(encode(to_int16(narrow))))
    out = resample(decoded, G711_RATE, rate)
    n = np.asarray(x).shape[0]
    result = np.zeros(n, dtype=np.float32)
    result[: min(n, out.size)] = out[:n]
    return np.clip(result, -1.0, 1.0)


def ulaw_roundtrip(x: npt.NDArray[np.floating], rate: int = G711_RATE) -> npt.NDArray[np.float32]:
    """`x` through a mu-law channel: to 8 kHz (if `rate` differs), int16, mu-law and back.
    Same length as `x`."""
    return _round_trip(x, rate, ulaw_encode, ulaw_decode)


def alaw_roundtrip(x: npt.NDArray[np.floating], rate: int = G711_RATE) -> npt.NDArray[np.float32]:
    """`x` through an A-law channel: to 8 kHz (if `rate` differs), int16, A-law and back.
    Same length as `x`."""
    return _round_trip(x, rate, alaw_encode, alaw_decode)
