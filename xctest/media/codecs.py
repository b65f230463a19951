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
from av.audio.codeccontext import AudioCodecContext

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

__all__ = ["Codec", "G711", "Opus", "codec_for", "prepare_tones", "CARRIED"]

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
def _opus_tone_cycle(freqs: tuple[float, float], level: float) -> tuple[bytes, ...]:
    """A tone pair as one second of Opus packets, to send in a loop: integer frequencies
    repeat every second, so once the encoder has settled (its second second is kept), packet
    ``k`` of the cycle is what encoding the ``k``-th 20 ms of any second would give, and the
    loop joins without a seam a decoder would notice."""
    pcm = pcm16_of(SignatureSource(Signature("table", freqs), HIGH_RATE, level).read(2 * HIGH_RATE))
    encoder = _opus_encoder()
    packets = []
    for k in range(100):
        frame = av.AudioFrame.from_ndarray(
            pcm[k * 960 : (k + 1) * 960].reshape(1, -1), format="s16", layout="mono"
        )
        frame.sample_rate, frame.pts, frame.time_base = HIGH_RATE, k * 960, Opus.time_base
        packets += [bytes(p) for p in encoder.encode(frame)]
    return tuple(packets[-50:])


@lru_cache(maxsize=1)
def _opus_silence() -> bytes:
    """One Opus packet of 20 ms of silence, sent over and over while there is nothing."""
    encoder = _opus_encoder()
    packets: list[bytes] = []
    for k in range(4):  # past the encoder's look-ahead
        frame = av.AudioFrame.from_ndarray(
            np.zeros((1, 960), np.int16), format="s16", layout="mono"
        )
        frame.sample_rate, frame.pts, frame.time_base = HIGH_RATE, k * 960, Opus.time_base
        packets += [bytes(p) for p in encoder.encode(frame)]
    return packets[-1]


def prepare_tones(source: SignatureSource) -> None:
    """Encode ahead, once per process, what sending ``source``'s tone pair needs (the G.711
    tables, the Opus cycle: ~20 ms of CPU per tone pair): a phone does it when it starts, so a
    first call's set-up does not pay for it."""
    freqs = tuple(source.signature.freqs)
    for name in ("pcmu", "pcma"):
        _g711_tone_table(name, freqs, source.level_dbfs)
    _opus_tone_cycle(freqs, source.level_dbfs)


def _opus_encoder() -> AudioCodecContext:
    encoder: AudioCodecContext = av.CodecContext.create("libopus", "w")
    encoder.bit_rate = 32000
    encoder.format = "s16"
    encoder.layout = "mono"
    encoder.sample_rate = HIGH_RATE
    encoder.time_base = fractions.Fraction(1, HIGH_RATE)
    encoder.options = {"application": "voip"}
    return encoder


class Opus:
    """Opus (48 kHz RTP clock, 960 per frame), mono, encoded and decoded by libopus on the loop;
    a pure tone pair is sent from a cycle of packets encoded once.  Received audio is decoded
    at 16 kHz: wide-band for MOS, a third of the samples to analyse and keep."""

    clock_rate = 48000
    rate = 16000
    samples_per_frame = 960
    name = "opus"
    time_base = fractions.Fraction(1, 48000)

    def __init__(self, payload_type: int) -> None:
        self.payload_type = payload_type
        self._encoder: AudioCodecContext | None = None  # made when something is not a tone
        self._decoder: AudioCodecContext = av.CodecContext.create("libopus", "r")
        self._decoder.format = "s16"
        self._decoder.layout = "mono"
        self._decoder.sample_rate = HIGH_RATE  # libopus through libav decodes at 48 kHz only
        self._down = Decimator(HIGH_RATE // self.rate)
        self._pts = 0
        self._silence = np.zeros(960, dtype=np.int16)
        self._frame = round(self.rate * PTIME)

    def _encode_pcm(self, pcm: npt.NDArray[np.int16]) -> bytes:
        frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = HIGH_RATE
        frame.pts = self._pts
        frame.time_base = self.time_base
        self._pts += 960
        if self._encoder is None:
            self._encoder = _opus_encoder()
        packets = self._encoder.encode(frame)
        return bytes(packets[0]) if packets else b""

    def tone(self, source: SignatureSource) -> bytes:
        cycle = _opus_tone_cycle(tuple(source.signature.freqs), source.level_dbfs)
        packet = cycle[(source.position // 960) % 50]
        source.skip(960)
        self._pts += 960
        return packet

    def encode(self, samples: npt.NDArray[np.float32]) -> bytes:
        return self._encode_pcm(pcm16_of(samples))

    def silence(self) -> bytes:
        return _opus_silence()

    def decode(self, payload: bytes | None) -> npt.NDArray[np.int16]:
        n = self._frame
        frames = self._decoder.decode(av.Packet(payload)) if payload else []
        if frames:
            pcm = np.concatenate([f.to_ndarray().reshape(-1) for f in frames])
        else:
            pcm = np.zeros(960, dtype=np.int16)  # the down-sampler's state goes on in step
        if pcm.size != 960:
            pcm = np.resize(pcm, 960) if pcm.size else np.zeros(960, dtype=np.int16)
        narrow = self._down(pcm.astype(np.float32) * np.float32(1.0 / 32768.0))
        return pcm16_of(narrow[:n])


def codec_for(name: str, payload_type: int) -> Codec | None:
    """The engine's codec for an SDP encoding name, or None when it does not carry it."""
    lowered = name.lower()
    if lowered in ("pcmu", "pcma"):
        return G711(lowered, payload_type)
    if lowered == "opus":
        return Opus(payload_type)
    return None
