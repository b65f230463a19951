"""Media: the only place that joins aiortc with ``xctest.audio``."""

from __future__ import annotations

from xctest.media.clock import MediaClock
from xctest.media.codecs import prepare_tones
from xctest.media.mix import MixSource
from xctest.media.peer import IcePath, Peer, PeerConfig
from xctest.media.pipe import AudioPipe
from xctest.media.tracks import AudioSink, SignalTrack

__all__ = [
    "AudioPipe",
    "AudioSink",
    "IcePath",
    "MediaClock",
    "MixSource",
    "Peer",
    "PeerConfig",
    "SignalTrack",
    "prepare_tones",
]
