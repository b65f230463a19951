"""Pure signal generation and analysis: test signals, party signatures, signature detection.

Imports only numpy/scipy and the stdlib; knows nothing of aiortc, asyncio or SIP.
"""

from __future__ import annotations

from xctest.audio.detector import (
    DEFAULT_MIN_FRAME_SHARE,
    DEFAULT_MIN_SHARE,
    FrameAnalysis,
    SignatureDetector,
    presence,
)
from xctest.audio.signals import (
    SILENCE_DBFS,
    concat,
    db_to_amplitude,
    from_int16,
    mix,
    rms_dbfs,
    silence,
    sine,
    to_int16,
    tones,
    white_noise,
)
from xctest.audio.signature import (
    DTMF_FREQS,
    SIGNATURE_COUNT,
    SIGNATURE_FREQS,
    Signature,
    SignatureSource,
    render,
    signature_for,
)

__all__ = [
    "DEFAULT_MIN_FRAME_SHARE",
    "DEFAULT_MIN_SHARE",
    "DTMF_FREQS",
    "SIGNATURE_COUNT",
    "SIGNATURE_FREQS",
    "SILENCE_DBFS",
    "FrameAnalysis",
    "Signature",
    "SignatureDetector",
    "SignatureSource",
    "concat",
    "db_to_amplitude",
    "from_int16",
    "mix",
    "presence",
    "render",
    "rms_dbfs",
    "signature_for",
    "silence",
    "sine",
    "to_int16",
    "tones",
    "white_noise",
]
