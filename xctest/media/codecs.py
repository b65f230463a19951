"""The codecs the media engine carries, per leg: G.711 (PCMU, PCMA) from lookup tables, and
Opus through libopus (PyAV) on the event loop.  A leg's outgoing audio is either a pure tone
pair (a party's signature, music on hold: played from a table computed once per tone and
level) or any 48 kHz signal (a mix, DTMF tones), encoded frame by frame.
"""

from __future__ import annotations

import fractions
from functools import lru_cache
from typing import Protocol

import av
import numpy as np
import numpy.typing as npt

from xctest.audio.g711 import (
    ALAW_DECODE,
    ALAW_ENCODE,
    ULAW_DECODE,
    ULAW_ENCODE,
    pcm16_of,
    table_decode,
    table_encode,
)
from xctest.audio.resampling import Decimator
from xctest.audio.signature import Signature, SignatureSource

__all__ = ["Codec", "G711", "Opus", "codec_for", "CARRIED"]

PTIME = 0.020
HIGH_RATE = 48000  # what sources play
CARRIED = ("pcmu", "pcma", "opus")


class Codec(Protocol):
    """One leg's encoder and decoder."""

    name: str
    clock_rate: int  # RTP timestamp units per second
    rate: int  # the decoded audio's sample rate
    samples_per_frame: int  # RTP timestamp units per 20 ms frame
    payload_type: int

    def tone(self, source: SignatureSource) -> bytes: ...

    def encode(self, samples: npt.NDArray[np.float32]) -> bytes: ...

    def silence(self) -> bytes: ...

    def decode(self, payload: bytes | None) -> npt.NDArray[np.int16]: ...


@lru_cache(maxsize=256)
def _g711_tone_table(name: str, freqs: tuple[float, float], level: float) -> bytes:
    """One second of a tone pair at 8 kHz, encoded, plus one frame to read across the end:
    integer frequencies repeat every second, so any 20 ms is a slice of it."""
    pcm = pcm16_of(SignatureSource(Signature("table", freqs), 8000, level).read(8000))
    codes = table_encode(ULAW_ENCODE if name == "pcmu" else ALAW_ENCODE, pcm).tobytes()
    return codes + codes[:160]


class G711:
    """PCMU or PCMA at 8 kHz, 160 samples a frame; a 48 kHz signal is decimated first."""

    clock_rate = 8000
    rate = 8000
    samples_per_frame = 160

    def __init__(self, name: str, payload_type: int) -> None:
        self.name = name
        self.payload_type = payload_type
        self._encode_table = ULAW_ENCODE if name == "pcmu" else ALAW_ENCODE
        self.decode_table = ULAW_DECODE if name == "pcmu" else ALAW_DECODE
        self._silence = bytes([0xFF if name == "pcmu" else 0xD5]) * 160
        self._decimator: Decimator | None = None

    def tone(self, source: SignatureSource) -> bytes:
        table = _g711_tone_table(self.name, tuple(source.signature.freqs), source.level_dbfs)
        start = (source.position // 6) % 8000
        source.skip(960)
        return table[start : start + 160]

    def encode(self, samples: npt.NDArray[np.float32]) -> bytes:
        if self._decimator is None:
            self._decimator = Decimator(6)
        return table_encode(self._encode_table, pcm16_of(self._decimator(samples))).tobytes()

    def silence(self) -> bytes:
        return self._silence

    def decode(self, payload: bytes | None) -> npt.NDArray[np.int16]:
        if payload is None:
            return np.zeros(160, dtype=np.int16)
        return table_decode(self.decode_table, np.frombuffer(payload, dtype=np.uint8)[:160])


@lru_cache(maxsize=256)
def _pcm_tone_table(freqs: tuple[float, float], level: float) -> npt.NDArray[np.int16]:
    """One second of a tone pair at 48 kHz, 16-bit, plus one frame to read across the end."""
    pcm = pcm16_of(SignatureSource(Signature("table", freqs), HIGH_RATE, level).read(HIGH_RATE))
    return np.concatenate((pcm, pcm[:960]))


class Opus:
    """Opus at 48 kHz, mono, 960 samples a frame, encoded and decoded by libopus on the loop."""

    clock_rate = 48000
    rate = 48000
    samples_per_frame = 960
    name = "opus"
    time_base = fractions.Fraction(1, 48000)

    def __init__(self, payload_type: int) -> None:
        self.payload_type = payload_type
        self._encoder = av.CodecContext.create("libopus", "w")
        self._encoder.bit_rate = 32000
        self._encoder.format = "s16"
        self._encoder.layout = "mono"
        self._encoder.sample_rate = HIGH_RATE
        self._encoder.time_base = self.time_base
        self._encoder.options = {"application": "voip"}
        self._decoder = av.CodecContext.create("libopus", "r")
        self._decoder.format = "s16"
        self._decoder.layout = "mono"
        self._decoder.sample_rate = HIGH_RATE
        self._pts = 0
        self._silence = np.zeros(960, dtype=np.int16)

    def _encode_pcm(self, pcm: npt.NDArray[np.int16]) -> bytes:
        frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = HIGH_RATE
        frame.pts = self._pts
        frame.time_base = self.time_base
        self._pts += 960
        packets = self._encoder.encode(frame)
        return bytes(packets[0]) if packets else b""

    def tone(self, source: SignatureSource) -> bytes:
        table = _pcm_tone_table(tuple(source.signature.freqs), source.level_dbfs)
        start = source.position % HIGH_RATE
        source.skip(960)
        return self._encode_pcm(table[start : start + 960])

    def encode(self, samples: npt.NDArray[np.float32]) -> bytes:
        return self._encode_pcm(pcm16_of(samples))

    def silence(self) -> bytes:
        return self._encode_pcm(self._silence)

    def decode(self, payload: bytes | None) -> npt.NDArray[np.int16]:
        if not payload:
            return np.zeros(960, dtype=np.int16)
        frames = self._decoder.decode(av.Packet(payload))
        if not frames:
            return np.zeros(960, dtype=np.int16)
        pcm = np.concatenate([f.to_ndarray().reshape(-1) for f in frames]).astype(np.int16)
        if pcm.size != 960:
            pcm = np.resize(pcm, 960) if pcm.size else np.zeros(960, dtype=np.int16)
        return pcm


def codec_for(name: str, payload_type: int) -> Codec | None:
    """The engine's codec for an SDP encoding name, or None when it does not carry it."""
    lowered = name.lower()
    if lowered in ("pcmu", "pcma"):
        return G711(lowered, payload_type)
    if lowered == "opus":
        return Opus(payload_type)
    return None
