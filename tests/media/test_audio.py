"""media.audio: Broadcast WAV files written after EBU Tech 3285 (bext) and iXML, as sound recorders write them,
read back field by field; truncated and malformed files; other sound formats through FFmpeg."""

from __future__ import annotations

import struct
import wave
from fractions import Fraction
from pathlib import Path

import av
import pytest

from datawrangler.core.clips import ClipGroup, ClipKind, ClipState, group_clips
from datawrangler.media.audio import read_audio
from tests.media import stillgen
from tests.media.stillgen import Bext, Ixml, Wav

HOUR_25 = 48000 * 3600  # 01:00:00:00 at 25 fps, 48 kHz: 3600 s of samples since midnight


def sound(root: Path, wav: Wav | bytes, name: str = "261214/S001T03.WAV") -> ClipGroup:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(wav if isinstance(wav, bytes) else wav.data())
    (group,) = group_clips([name])
    assert group.kind is ClipKind.AUDIO
    return group


def recorder_wav(**kw: object) -> Wav:
    """What a Sound Devices recorder writes: bext with the TimeReference, iXML after the audio."""
    ixml = Ixml(scene="12A", take="3", tape="S001", project="Feature", note="plane overhead", circled="TRUE",
                tracks=["Mix L", "Mix R", "Boom", "Lav 1"], rate="25/1", flag="NDF")
    args: dict[str, object] = dict(channels=4, samples=96000, bext=Bext(time_reference=HOUR_25,
                                   description="sSCENE=12A\r\nsTAKE=3\r\n", originator="Sound Devices 888",
                                   originator_ref="USSDVDEV0123"), ixml=ixml)
    args.update(kw)
    return Wav(**args)  # type: ignore[arg-type]


def test_broadcast_wav_every_field(tmp_path: Path) -> None:
    root = tmp_path / "roll"
    group = sound(root, recorder_wav())
    thumb = tmp_path / "thumbs" / "t.jpg"
    meta = read_audio(root, group, [thumb])
    assert meta.state is ClipState.READ and meta.problems == ()
    assert (meta.container, meta.codec) == ("wav", "PCM 24-bit")
    assert (meta.audio_channels, meta.sample_rate, meta.bit_depth) == (4, 48000, 24)
    assert meta.duration == pytest.approx(2.0)
    assert (meta.fps, meta.tc_in, meta.tc_out) == ("25", "01:00:00:00", "01:00:01:24")
    assert (meta.scene, meta.take, meta.tape) == ("12A", "3", "S001")
    assert meta.tracks == ("Mix L", "Mix R", "Boom", "Lav 1")
    assert meta.width is meta.height is meta.frames is None
    assert dict(meta.extra) == {
        "originator": "Sound Devices 888", "description": "sSCENE=12A\r\nsTAKE=3", "originator_reference":
        "USSDVDEV0123", "recorded": "2026-12-14 10:22:01", "project": "Feature", "note": "plane overhead",
        "circled": "TRUE"}
    assert not thumb.exists()  # sound has no picture


def test_the_files_we_write_are_wav_to_python_and_ffmpeg(tmp_path: Path) -> None:
    """The generator's files are real WAV files to other readers, not only to ours."""
    path = recorder_wav().write(tmp_path / "a.wav")
    with wave.open(str(path)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()) == (4, 3, 48000, 96000)
    with av.open(str(path)) as c:
        ctx = c.streams.audio[0].codec_context
        assert (ctx.name, ctx.channels, ctx.sample_rate) == ("pcm_s24le", 4, 48000)


@pytest.mark.parametrize(("rate", "flag", "tc_frames", "fps", "tc_in"), [
    ("24000/1001", "NDF", 86400, "24000/1001", "01:00:00:00"),  # 23.976: 86400 frames is 01:00:00:00
    ("30000/1001", "DF", 107892, "30000/1001", "01:00:00;00"),  # 29.97 DF: 108000 - 108 dropped labels
    ("30000/1001", "NDF", 108000, "30000/1001", "01:00:00:00"),
    ("24/1", "NDF", 24 * 3600 * 10 + 24 * 61 + 7, "24", "10:01:01:07"),
])
def test_timecode_from_the_time_reference_at_the_ixml_rate(tmp_path: Path, rate: str, flag: str, tc_frames: int,
                                                           fps: str, tc_in: str) -> None:
    reference = stillgen.samples_at(tc_frames, 48000, Fraction(rate))
    wav = recorder_wav(bext=Bext(time_reference=reference), ixml=Ixml(rate=rate, flag=flag), samples=48000)
    meta = read_audio(tmp_path, sound(tmp_path, wav), [])
    assert (meta.fps, meta.tc_in) == (fps, tc_in)
    assert "timecode_rate" not in meta.extra
    # one sample earlier is the frame before
    wav.bext = Bext(time_reference=reference - 1)
    earlier = read_audio(tmp_path, sound(tmp_path, wav), [])
    assert earlier.tc_in != tc_in and earlier.tc_in is not None


def test_tc_out_is_the_last_samples_frame_in_drop_frame(tmp_path: Path) -> None:
    rate = Fraction(30000, 1001)
    start = stillgen.samples_at(17982 - 2, 48000, rate)  # 00:09:59;28, two frames before minute 10 (not dropped)
    samples = stillgen.samples_at(17982 + 3, 48000, rate) - start  # up to the start of 00:10:00;03
    wav = recorder_wav(bext=Bext(time_reference=start), ixml=Ixml(rate="30000/1001", flag="DF"), samples=samples)
    meta = read_audio(tmp_path, sound(tmp_path, wav), [])
    assert (meta.tc_in, meta.tc_out) == ("00:09:59;28", "00:10:00;02")


def test_no_rate_given_assumes_25_and_says_so_in_extra(tmp_path: Path) -> None:
    wav = recorder_wav(ixml=Ixml(scene="4"), bext=Bext(time_reference=HOUR_25 + 48000 // 25 * 3))
    meta = read_audio(tmp_path, sound(tmp_path, wav), [])
    assert meta.tc_in == "01:00:00:03" and meta.fps is None
    assert meta.extra["timecode_rate"] == "25 fps assumed for the timecode: the file names no timecode rate"
    assert meta.state is ClipState.READ and meta.problems == ()


def test_an_unreadable_rate_is_named(tmp_path: Path) -> None:
    wav = recorder_wav(ixml=Ixml(rate="fast", flag="NDF"))
    meta = read_audio(tmp_path, sound(tmp_path, wav), [])
    assert meta.tc_in == "01:00:00:00"
    assert meta.extra["timecode_rate"] == "25 fps assumed for the timecode: its timecode rate 'fast' is not a rate"


def test_bext_description_lines_when_there_is_no_ixml(tmp_path: Path) -> None:
    """Sound Devices and Zaxcom write sSCENE=/zTAKE=... lines into the bext description."""
    reference = stillgen.samples_at(86400, 48000, Fraction(24000, 1001))
    description = ("sSPEED=023.976-ND\r\nsSCENE=4B\r\nzTAKE=2\r\nsTAPE=S002\r\nsTRK1=MixL\r\nsTRK2=MixR\r\n"
                   "sNOTE=wild\r\n")
    wav = Wav(bext=Bext(time_reference=reference, description=description), ixml=None)
    meta = read_audio(tmp_path, sound(tmp_path, wav), [])
    assert (meta.fps, meta.tc_in) == ("24000/1001", "01:00:00:00")
    assert (meta.scene, meta.take, meta.tape, meta.tracks) == ("4B", "2", "S002", ("MixL", "MixR"))
    assert meta.extra["note"] == "wild"


def test_ixml_timestamp_without_bext(tmp_path: Path) -> None:
    wav = Wav(ixml=Ixml(rate="25/1", flag="NDF", samples_since_midnight=HOUR_25 * 5, tape="S9"))
    meta = read_audio(tmp_path, sound(tmp_path, wav), [])
    assert (meta.tc_in, meta.tape, meta.tracks) == ("05:00:00:00", "S9", ())


def test_ixml_timestamp_sample_rate_counts_the_time_reference(tmp_path: Path) -> None:
    """A 48048 Hz file (pulled up) whose timestamp is counted at 48000 Hz, as iXML TIMESTAMP_SAMPLE_RATE says."""
    wav = Wav(sample_rate=48048, bext=Bext(time_reference=HOUR_25), ixml=Ixml(rate="25/1", stamp_rate=48000))
    meta = read_audio(tmp_path, sound(tmp_path, wav), [])
    assert (meta.sample_rate, meta.tc_in) == (48048, "01:00:00:00")


def test_plain_wav_written_by_python_gives_what_fmt_gives(tmp_path: Path) -> None:
    path = tmp_path / "plain.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(44100)
        w.writeframes(b"\x01\x02" * 44100 * 3)
    (group,) = group_clips(["plain.wav"])
    meta = read_audio(tmp_path, group, [])
    assert meta.state is ClipState.READ and meta.problems == ()
    assert (meta.codec, meta.audio_channels, meta.sample_rate, meta.bit_depth) == ("PCM 16-bit", 1, 44100, 16)
    assert meta.duration == pytest.approx(3.0)
    assert (meta.tc_in, meta.tc_out, meta.fps, meta.scene, meta.tracks, dict(meta.extra)) == (
        None, None, None, None, (), {})


def test_extensible_float_and_rf64(tmp_path: Path) -> None:
    float_wav = Wav(bits=32, fmt_tag=3, extensible=True, channels=2, samples=4800)
    meta = read_audio(tmp_path, sound(tmp_path, float_wav), [])
    assert (meta.codec, meta.bit_depth, meta.duration) == ("PCM float 32-bit", 32, pytest.approx(0.1))
    # RF64 (EBU Tech 3306): sizes in ds64, 0xFFFFFFFF in the RIFF and data headers
    chunks = Wav(samples=24000, bext=Bext(time_reference=HOUR_25), ixml=Ixml(rate="25/1")).data()[12:]
    data_at = chunks.index(b"data")
    data_len = struct.unpack_from("<I", chunks, data_at + 4)[0]
    chunks = chunks[:data_at + 4] + b"\xff\xff\xff\xff" + chunks[data_at + 8:]
    ds64_size = 8 + 28
    ds64 = stillgen.chunk(b"ds64", struct.pack("<QQQI", 4 + ds64_size + len(chunks), data_len, 24000, 0))
    rf64 = b"RF64\xff\xff\xff\xffWAVE" + ds64 + chunks
    meta = read_audio(tmp_path, sound(tmp_path, rf64, "S002T01.WAV"), [])
    assert meta.state is ClipState.READ, meta.problems
    assert (meta.duration, meta.tc_in) == (pytest.approx(0.5), "01:00:00:00")


@pytest.mark.parametrize("encoding", ["utf-8", "latin-1"])
def test_bext_text_in_utf8_or_latin1(tmp_path: Path, encoding: str) -> None:
    wav = Wav(bext=Bext(time_reference=0, description="scène 5", encoding=encoding))
    meta = read_audio(tmp_path, sound(tmp_path, wav), [])
    assert meta.extra["description"] == "scène 5"


def _patched(data: bytes, ident: bytes, length: int) -> bytes:
    at = data.index(ident)
    return data[:at + 4] + struct.pack("<I", length) + data[at + 8:]


@pytest.mark.parametrize(("make", "said"), [
    (lambda d: d[:len(d) // 2], "'data' chunk declares 576,000 bytes but the file ends"),
    (lambda d: d[:30], "its 'fmt ' chunk declares 16 bytes but the file ends 10 bytes into it (it is cut short)"),
    (lambda d: b"", "it does not start as a WAV file does (RIFF ... WAVE) but with b''"),
    (lambda d: b"\x00garbage" * 100, "it does not start as a WAV file does"),
    (lambda d: _patched(d, b"data", 10_000_000), "'data' chunk declares 10,000,000 bytes but the file ends"),
    (lambda d: d[:d.index(b"iXML")], "its header declares"),  # the iXML after the audio is lost
    (lambda d: d.replace(b"WAVEfmt ", b"WAVEfmx "), "it has no 'fmt' chunk; check"),
    (lambda d: d[:4] + bytes(4) + d[8:], "it has no 'fmt' chunk in the 8 bytes its header declares (the file holds "
     "577,464: the recorder may not have finished writing it)"),
    (lambda d: d[:4] + struct.pack("<I", 100) + d[8:], "it has no 'data' chunk in the 108 bytes its header"),
    (lambda d: stillgen.riff(stillgen.chunk(b"fmt ", bytes(16)) + d[d.index(b"bext"):]),
     "its fmt chunk gives 0 channels at 0 Hz"),
])
def test_an_unreadable_or_cut_short_wav_is_possibly_damaged_and_named(tmp_path: Path, make, said: str) -> None:
    data = make(recorder_wav(samples=48000, channels=4).data())
    group = sound(tmp_path, data)
    meta = read_audio(tmp_path, group, [])
    assert meta.state is ClipState.DAMAGED and meta.container == "wav"
    (problem,) = meta.problems
    assert problem.startswith(f"{group.files[0]} is not a readable WAV file: ")
    assert said in problem
    assert problem.endswith("; check the recorder's copy of it")


@pytest.mark.parametrize("payload", [bytes(4096), b"\x01\x02 not xml <<<>>> &&&", Ixml(scene="1").xml()[:70],
                                     b'<!DOCTYPE x [<!ENTITY a "aaaa">]><BWFXML><SCENE>&a;</SCENE></BWFXML>'])
def test_an_unreadable_ixml_is_said_and_the_rest_of_the_file_read(tmp_path: Path, payload: bytes) -> None:
    """A recorder that reserved its iXML chunk and lost power leaves zeros there: the audio is whole. XML with
    entities (a card's bytes are anyone's) is not expanded."""
    wav = recorder_wav(ixml=None, extra_chunks=[stillgen.chunk(b"iXML", payload)])
    group = sound(tmp_path, wav)
    meta = read_audio(tmp_path, group, [])
    assert meta.state is ClipState.READ
    assert (meta.tc_in, meta.audio_channels, meta.duration) == ("01:00:00:00", 4, pytest.approx(2.0))
    assert meta.scene == "12A"  # from the bext description's sSCENE= line
    (problem,) = meta.problems
    assert problem.startswith("iXML chunk not read (")
    assert problem.endswith("): scene, take, sound roll and track names are not known; take them from the sound "
                            "report")


def test_a_short_bext_is_said_and_the_audio_still_read(tmp_path: Path) -> None:
    data = recorder_wav().data()
    short = stillgen.chunk(b"bext", bytes(100))
    data = stillgen.riff(data[12:data.index(b"bext")] + short + data[data.index(b"data"):])
    meta = read_audio(tmp_path, sound(tmp_path, data), [])
    assert meta.state is ClipState.READ and meta.tc_in is None and meta.scene == "12A"  # iXML still read
    assert meta.problems == ("bext chunk not read: it is 100 bytes, fewer than the 602 of EBU Tech 3285, so the "
                             "file has no timecode; take it from the sound report",)


def test_a_missing_file_raises_oserror(tmp_path: Path) -> None:
    (group,) = group_clips(["S001T01.WAV"])
    with pytest.raises(FileNotFoundError):
        read_audio(tmp_path, group, [])


def test_aiff_through_ffmpeg_and_a_garbage_one(tmp_path: Path) -> None:
    path = tmp_path / "T01.aif"
    with av.open(str(path), "w", format="aiff") as out:
        stream = out.add_stream("pcm_s24be", rate=48000, layout="stereo")
        frame = av.AudioFrame(format="s32", layout="stereo", samples=48000)
        for plane in frame.planes:
            plane.update(bytes(plane.buffer_size))
        frame.sample_rate = 48000
        for packet in stream.encode(frame) + stream.encode(None):
            out.mux(packet)
    (group,) = group_clips(["T01.aif"])
    meta = read_audio(tmp_path, group, [])
    assert (meta.state, meta.container, meta.codec) == (ClipState.READ, "aif", "PCM 24-bit")
    assert (meta.audio_channels, meta.sample_rate, meta.duration) == (2, 48000, pytest.approx(1.0, abs=0.01))
    path.write_bytes(b"FORM" + bytes(3))
    meta = read_audio(tmp_path, group, [])
    assert meta.state is ClipState.DAMAGED
    assert meta.problems[0].startswith("T01.aif is not a readable sound file: FFmpeg cannot open it (")
