"""Pure signal generation and analysis: test signals, party signatures and their detection
(single and batched), DTMF, call-progress tones, levels, delay, MOS, music on hold.

Imports only numpy/scipy and the stdlib (and pesq, on the first MOS computed); knows nothing
of aiortc, asyncio or SIP.
"""

from __future__ import annotations

from xctest.audio.delay import DelayEstimate, delay_probe, estimate_delay
from xctest.audio.detector import (
    DEFAULT_MIN_FRAME_SHARE,
    DEFAULT_MIN_SHARE,
    FrameAnalysis,
    SignatureDetector,
    presence,
)
from xctest.audio.dtmf import (
    DTMF_KEYS,
    DTMF_TABLE,
    DtmfBatchDetector,
    DtmfDetector,
    DtmfDigit,
    dtmf_tones,
)
from xctest.audio.g711 import alaw_roundtrip, resample, ulaw_roundtrip
from xctest.audio.levels import (
    Clipping,
    LevelMeter,
    NonSignatureAudio,
    clipped_fraction,
    clipping,
    is_silent,
    level_dbfs,
    non_signature_audio,
)
from xctest.audio.moh import MOH_NAME, MOH_SIGNATURE, moh_source
from xctest.audio.mos import MosResult, pesq_mos
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
from xctest.audio.signature_batch import BatchFrame, SignatureBatchDetector
from xctest.audio.speech import music_like, speech_like
from xctest.audio.tones import (
    EU_BUSY,
    EU_CONGESTION,
    EU_DIAL,
    EU_RINGBACK,
    EU_TONES,
    NA_BUSY,
    NA_DIAL,
    NA_REORDER,
    NA_RINGBACK,
    NA_TONES,
    ProgressTone,
    ProgressToneDetector,
    ToneMatch,
    ToneStep,
    cadence,
    render_tone,
)

__all__ = [
    "DEFAULT_MIN_FRAME_SHARE",
    "DEFAULT_MIN_SHARE",
    "DTMF_FREQS",
    "DTMF_KEYS",
    "DTMF_TABLE",
    "EU_BUSY",
    "EU_CONGESTION",
    "EU_DIAL",
    "EU_RINGBACK",
    "EU_TONES",
    "MOH_NAME",
    "MOH_SIGNATURE",
    "NA_BUSY",
    "NA_DIAL",
    "NA_REORDER",
    "NA_RINGBACK",
    "NA_TONES",
    "SIGNATURE_COUNT",
    "SIGNATURE_FREQS",
    "SILENCE_DBFS",
    "BatchFrame",
    "Clipping",
    "DelayEstimate",
    "DtmfBatchDetector",
    "DtmfDetector",
    "DtmfDigit",
    "FrameAnalysis",
    "LevelMeter",
    "MosResult",
    "NonSignatureAudio",
    "ProgressTone",
    "ProgressToneDetector",
    "Signature",
    "SignatureBatchDetector",
    "SignatureDetector",
    "SignatureSource",
    "ToneMatch",
    "ToneStep",
    "alaw_roundtrip",
    "cadence",
    "clipped_fraction",
    "clipping",
    "concat",
    "db_to_amplitude",
    "delay_probe",
    "dtmf_tones",
    "estimate_delay",
    "from_int16",
    "is_silent",
    "level_dbfs",
    "mix",
    "moh_source",
    "music_like",
    "non_signature_audio",
    "pesq_mos",
    "presence",
    "render",
    "render_tone",
    "resample",
    "rms_dbfs",
    "signature_for",
    "silence",
    "sine",
    "speech_like",
    "to_int16",
    "tones",
    "ulaw_roundtrip",
    "white_noise",
]
