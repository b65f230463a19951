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


def test_aiortc_audio_is_cut_into_frames_kept_by_loop_time_in_a_rolling_buffer():
    from xctest.audio.signature import render, signature_for

    call, _ = connected_call()  # listens for signature 0
    call.keep_audio = 0.1  # 5 frames
    tone = render(signature_for(0), 0.2)  # ten 20 ms frames
    for k in range(10):  # each chunk arrives at the end of its 20 ms
        chunk = tone[960 * k : 960 * (k + 1)] * (k % 2)  # odd chunks carry the signature
        call.hearing.on_audio(chunk, 1.0 + 0.02 * (k + 1))
    assert call.frame_counts() == (10, 0)
    assert call.presence(call.hearing.signatures[0].name) == 0.5
    assert call.presence(call.hearing.signatures[0].name, 1.1, 1.2) == 0.6  # frames 5..9
    assert call.recording().size == 5 * 960  # the last 100 ms of samples
    assert call.audio(1.14, 1.18).size == 2 * 960  # frames starting at 1.14 and 1.16
    assert call.audio(0.0, 1.1).size == 0  # dropped from the buffer


def test_engine_frames_count_missing_frames_as_not_heard():
    call, _ = connected_call()
    bit = call.hearing.bit(call.hearing.signatures[0].name)
    times = 5.0 + 0.02 * np.arange(10)
    missing = np.zeros(10, np.bool_)
    missing[[2, 7]] = True  # lost or late: they should have come
    masks = np.where(missing, 0, bit).astype(np.uint64)
    pcm = np.zeros((10, 160), np.int16)
    call.hearing.on_frames(8000, times, pcm, masks, np.full(10, -16.0, np.float32), missing)
    assert call.frame_counts() == (10, 2)
    assert call.presence(call.hearing.signatures[0].name) == 0.8
    assert call.audio().size == 10 * 960  # 8 kHz kept, read at 48 kHz
