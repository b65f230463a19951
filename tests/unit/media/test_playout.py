"""Play-out of one stream: every frame that should have arrived is played, lost or late."""

from __future__ import annotations

from xctest.media.playout import Playout

PT = 0.020


def run(playout, arrivals, until):
    """Push (timestamp frame index, arrival) pairs in arrival order, tick every 20 ms until
    ``until``; returns what due() handed out, in order."""
    out = []
    pending = sorted(arrivals, key=lambda a: a[1])
    t = 0.0
    while t <= until + 1e-9:
        while pending and pending[0][1] <= t + 1e-9:
            k, at = pending.pop(0)
            playout.push(160 * k, bytes([k % 256]), at)
        out += playout.due(t)
        t = round(t + PT, 6)
    return out


def test_a_steady_stream_is_played_whole_after_the_delay():
    playout = Playout(160, PT, delay=0.060)
    out = run(playout, [(k, k * PT) for k in range(50)], until=49 * PT + 0.06)
    assert [k for k, _ in out] == list(range(50))
    assert all(p is not None for _, p in out)
    assert (playout.played, playout.concealed, playout.late) == (50, 0, 0)


def test_a_missing_frame_is_concealed_in_its_slot():
    playout = Playout(160, PT, delay=0.040)
    arrivals = [(k, k * PT) for k in range(20) if k not in (5, 6)]
    out = run(playout, arrivals, until=19 * PT + 0.04)
    assert [k for k, p in out if p is None] == [5, 6]
    assert (playout.played, playout.concealed, playout.late) == (18, 2, 0)


def test_jitter_within_the_delay_is_absorbed_and_beyond_it_is_late():
    playout = Playout(160, PT, delay=0.040)
    arrivals = [(k, k * PT) for k in range(20)]
    arrivals[7] = (7, 7 * PT + 0.030)  # within the 40 ms delay: played in order
    arrivals[12] = (12, 12 * PT + 0.080)  # after its deadline: concealed, then late
    out = run(playout, arrivals, until=19 * PT + 0.04)
    assert [k for k, _ in out] == list(range(20))
    assert [k for k, p in out if p is None] == [12]
    assert (playout.played, playout.concealed, playout.late) == (19, 1, 1)


def test_reordered_frames_come_out_in_order():
    playout = Playout(160, PT, delay=0.060)
    arrivals = [(k, k * PT) for k in range(10)]
    arrivals[3], arrivals[4] = (3, 4 * PT + 0.001), (4, 4 * PT)
    out = run(playout, arrivals, until=9 * PT + 0.06)
    assert [k for k, _ in out] == list(range(10))
    assert all(p is not None for _, p in out)


def test_not_expected_means_missing_frames_do_not_count_and_resuming_re_anchors():
    playout = Playout(160, PT, delay=0.040)
    run(playout, [(k, k * PT) for k in range(10)], until=9 * PT + 0.04)
    playout.expected = False  # held: the far end was told not to send
    quiet = playout.due(2.0)
    assert quiet and all(p == b"" for _, p in quiet)  # silence, not a loss
    playout.expected = True
    playout.push(160 * 900, b"x", 2.0)  # resumes with another timestamp, 1.8 s later
    out = playout.due(2.0 + 0.040)
    assert out == [(0, b"x")]
    assert playout.concealed == 0 and playout.late == 0


def test_a_sender_that_jumps_its_timestamps_starts_a_new_schedule():
    playout = Playout(160, PT, delay=0.040)
    run(playout, [(k, k * PT) for k in range(10)], until=9 * PT + 0.04)
    playout.push(160 * 100_000, b"y", 0.26)  # far from any slot of the old schedule
    assert playout.due(0.26 + 0.040) == [(0, b"y")]


def test_clock_drift_is_followed():
    playout = Playout(160, PT, delay=0.040)
    drift = 0.0001  # the far clock is 0.5 % slow: each frame 0.1 ms later than its slot
    arrivals = [(k, k * (PT + drift)) for k in range(1000)]
    run(playout, arrivals, until=999 * (PT + drift) + 0.02)
    # without re-centring, every frame past ~400 would be late (0.1 ms x 400 = 40 ms)
    assert playout.late == 0
    assert playout.concealed < 10


def test_a_path_that_got_slower_for_good_is_followed_after_a_second_of_late_frames():
    playout = Playout(160, PT, delay=0.040)
    arrivals = [(k, k * PT + (0.300 if k >= 20 else 0.0)) for k in range(200)]
    out = run(playout, arrivals, until=199 * PT + 0.35)
    assert playout.late == 50  # one second of them, each counted
    played = [p for _, p in out if p is not None]  # each payload is its frame's number
    assert played[-1] == bytes([199]) and len(played) >= 200 - 50 - 5
