"""The audio a phone sends: the microphone mix (conference inputs, in-band inserts), the jitter
prebuffer of the conference pipes, and the hold/mute flags of the outgoing track."""

from __future__ import annotations

import numpy as np
from phone_fakes import connected_call

from xctest.media import AudioPipe, MixSource, SignalTrack


def ramp(start: float = 0.0):
    """A microphone whose n-th sample is start + n / 1000 (so gaps and order show)."""
    position = [0]

    def read(n: int):
        k = np.arange(position[0], position[0] + n)
        position[0] += n
        return (start + k / 1000.0).astype(np.float32)

    return read


def test_without_inputs_the_mix_is_the_microphone():
    mix = MixSource(ramp())
    assert np.allclose(mix(4), [0.0, 0.001, 0.002, 0.003])


def test_inputs_are_added_and_clipped():
    mix = MixSource(lambda n: np.full(n, 0.5, np.float32))
    mix.inputs.append(lambda n: np.full(n, 0.25, np.float32))
    assert np.allclose(mix(3), 0.75)
    mix.inputs.append(lambda n: np.full(n, 0.5, np.float32))
    assert np.allclose(mix(3), 1.0)


def test_an_insert_replaces_the_microphone_then_it_comes_back_in_phase():
    mix = MixSource(ramp())
    mix.inputs.append(lambda n: np.full(n, 0.1, np.float32))
    mix.insert(np.full(3, -0.5, np.float32))
    mix.insert(np.full(2, -0.25, np.float32))
    assert mix.inserting
    out = mix(8)
    assert np.allclose(out[:5], [-0.4, -0.4, -0.4, -0.15, -0.15])
    # the microphone kept running under the insert: its sample 5 (0.005) + the input
    assert np.allclose(out[5:], [0.105, 0.106, 0.107])
    assert not mix.inserting
    mix.insert(np.ones(10, np.float32))
    mix.clear_inserts()
    assert np.allclose(mix(1), 0.008 + 0.1)


def test_a_prebuffered_pipe_waits_for_its_prebuffer_and_keeps_samples_on_underrun():
    pipe = AudioPipe(max_latency=0.1, rate=1000, prebuffer=0.004)  # 4 samples
    pipe.write(np.arange(1, 5, dtype=np.float32))
    assert np.allclose(pipe.read(2), 0.0)  # 4 < 2 + 4 queued: still filling
    pipe.write(np.arange(5, 7, dtype=np.float32))
    assert np.allclose(pipe.read(2), [1, 2])
    assert np.allclose(pipe.read(2), [3, 4])
    assert np.allclose(pipe.read(4), 0.0)  # underrun: the 2 left are kept
    assert pipe.underruns == 1
    pipe.write(np.arange(7, 11, dtype=np.float32))
    assert np.allclose(pipe.read(2), [5, 6])


def test_a_pipe_without_prebuffer_plays_what_it_has():
    pipe = AudioPipe(max_latency=0.005, rate=1000)
    pipe.write(np.arange(1, 4, dtype=np.float32))
    assert np.allclose(pipe.read(4), [1, 2, 3, 0])
    pipe.write(np.arange(10, dtype=np.float32))
    assert pipe.dropped == 5 and np.allclose(pipe.read(5), [5, 6, 7, 8, 9])


async def test_hold_and_mute_each_silence_the_track():
    track = SignalTrack(lambda n: np.full(n, 0.5, np.float32))
    loud = (await track.recv()).to_ndarray()
    assert np.abs(loud).max() > 0
    for held, muted in ((True, False), (False, True), (True, True)):
        track.held, track.muted = held, muted
        assert not (await track.recv()).to_ndarray().any()
    track.held = track.muted = False
    assert (await track.recv()).to_ndarray().any()
    assert "held=False" in repr(track)
    track.stop()


def test_received_audio_is_a_rolling_buffer_read_by_loop_time():
    call, _ = connected_call()
    call.keep_audio = 0.1  # 4800 samples at 48 kHz
    for k in range(10):  # ten 20 ms chunks, each arriving at the end of its 20 ms
        call._keep(1.0 + 0.02 * (k + 1), np.full(960, k, np.float32))
    kept = call.recording()
    assert kept.size == 5 * 960  # the last 100 ms
    assert np.array_equal(np.unique(kept), [5, 6, 7, 8, 9])
    # [1.13, 1.17): the second half of chunk 6 (1.12-1.14), chunk 7, the first half of 8
    window = call.audio(1.13, 1.17)
    assert window.size == 1920
    assert np.array_equal(window[:480], np.full(480, 6, np.float32))
    assert np.array_equal(window[480:1440], np.full(960, 7, np.float32))
    assert np.array_equal(window[1440:], np.full(480, 8, np.float32))
    assert call.audio(0.0, 1.1).size == 0  # dropped from the buffer


def test_analysed_frames_older_than_the_kept_audio_are_forgotten():
    from xctest.audio.detector import FrameAnalysis
    from xctest.phone.call import Heard

    call, _ = connected_call()
    call.keep_frames = 10.0
    analysis = FrameAnalysis(t=0.0, rms_dbfs=-20.0, levels={}, present=frozenset())
    call.heard = [Heard(t, analysis) for t in np.arange(0.0, 100.0, 0.02)]
    call._forget(now=65.0)  # the oldest frame is only 55 s past the kept window: not yet
    assert len(call.heard) == 5000
    call._forget(now=100.0)
    assert call.heard[0].t >= 90.0 - 1e-9 and call.heard[-1].t > 99.9
    assert len(call.heard) == 500
