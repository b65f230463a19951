"""RTP headers and the receive statistics of one stream (RFC 3550 A.1, A.3, A.8)."""

from __future__ import annotations

import struct

import pytest

from xctest.media.rtp import ReceiveStats, build_header, is_rtp, parse_rtp


def test_a_built_header_parses_back():
    data = build_header(0, 65535, 2**32 - 1, 0x11223344, True) + b"\xff" * 160
    assert is_rtp(data)
    header = parse_rtp(data)
    assert header is not None
    assert header[:5] == (0, 65535, 2**32 - 1, 0x11223344, True)
    assert header.payload == b"\xff" * 160
    assert data[:2] == b"\x80\x80"


def test_csrcs_extensions_and_padding_are_skipped():
    csrcs = struct.pack("!II", 1, 2)
    extension = struct.pack("!HH", 0xBEDE, 1) + b"\x10\x00\x00\x00"  # one-byte ext, 1 word
    first = 0x80 | 0x20 | 0x10 | 2  # version 2, padding, extension, 2 CSRCs
    data = struct.pack("!BBHII", first, 8, 7, 160, 5) + csrcs + extension + b"abc" + b"\x00\x02"
    header = parse_rtp(data)
    assert header is not None and header.payload_type == 8
    assert header.payload == b"abc"


@pytest.mark.parametrize(
    "data",
    [
        b"\x80\x00\x00",  # too short
        b"\x40" + b"\x00" * 20,  # version 1
        bytes([0x90]) + b"\x00" * 11 + b"\x00\x00",  # extension cut short
        bytes([0xA0]) + b"\x00" * 11 + b"\xff",  # padding longer than the packet
    ],
)
def test_what_is_not_rtp_is_none(data):
    assert parse_rtp(data) is None


def test_rtcp_stun_and_dtls_are_not_rtp():
    assert not is_rtp(bytes([0x80, 200]) + b"\x00" * 20)  # RTCP sender report
    assert not is_rtp(b"\x00\x01" + b"\x00" * 18)  # STUN binding request
    assert not is_rtp(bytes([22, 0xFE, 0xFD]) + b"\x00" * 20)  # DTLS handshake


def feed(stats, seqs, start_ts=0, gap=0.020):
    for i, seq in enumerate(seqs):
        stats.on_packet(seq % 65536, start_ts + 160 * (seq - seqs[0]), i * gap)


def test_losses_are_counted_from_the_sequence_numbers():
    stats = ReceiveStats(8000)
    feed(stats, [10, 11, 13, 14, 17])  # 12, 15 and 16 never came
    snap = stats.snapshot()
    assert (snap.expected, snap.received, snap.lost) == (8, 5, 3)
    assert snap.loss == pytest.approx(3 / 8)


def test_the_sequence_number_wraps_and_reordering_is_no_loss():
    stats = ReceiveStats(8000)
    feed(stats, [65533, 65534, 65535, 65537, 65536, 65538])  # 0 and 1 swapped
    snap = stats.snapshot()
    assert (snap.expected, snap.received, snap.lost) == (6, 6, 0)


def test_duplicates_are_counted_apart():
    stats = ReceiveStats(8000)
    assert stats.on_packet(5, 0, 0.0)
    assert not stats.on_packet(5, 0, 0.001)
    snap = stats.snapshot()
    assert (snap.received, snap.duplicates, snap.lost) == (1, 1, 0)


def test_a_restarted_sender_is_not_a_loss_of_thousands():
    stats = ReceiveStats(8000)
    feed(stats, [100, 101, 102])
    feed(stats, [40000, 40001])  # a jump far beyond MAX_DROPOUT
    snap = stats.snapshot()
    assert (snap.expected, snap.received, snap.lost) == (5, 5, 0)


def test_jitter_is_zero_for_a_steady_stream_and_grows_with_uneven_arrivals():
    steady = ReceiveStats(8000)
    feed(steady, list(range(50)))
    assert steady.jitter_ms == pytest.approx(0.0, abs=1e-9)
    uneven = ReceiveStats(8000)
    for i in range(200):  # every other packet 10 ms late: |D| alternates 10 ms
        uneven.on_packet(i, 160 * i, i * 0.020 + (0.010 if i % 2 else 0.0))
    assert uneven.jitter_ms == pytest.approx(10.0, rel=0.05)  # J converges to mean |D|
