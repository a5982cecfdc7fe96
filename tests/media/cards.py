"""A camera card of real media for the clip tests: a ProRes clip with timecode, reel and two audio channels,
a cut one (the camera lost power), a DPX sequence of the frames given (gaps are missing frames), a sound
roll's WAV (01:00:00:00 at 25 fps, scene 12A take 3) and a RED clip that no open library reads."""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path

from tests.media.stillgen import Bext, Ixml, Wav, dpx_bytes, samples_at, write_sequence
from tests.media.videogen import cut, prores_mov

SEQ = "A001C006_231014_R2EC"
MOV = "A001C001_231014_R2EC"
CUT = "A001C002_231014_R2EC"
RED = "A001_C002_1014XY_001"


def media_card(root: Path, frames: Iterable[int]) -> Path:
    """root/A001R2EC with the clips above; the DPX sequence holds `frames` (the first has the timecode)."""
    card = root / "A001R2EC"
    write_sequence(card / SEQ, f"{SEQ}.", list(frames), "dpx",
                   lambda n: dpx_bytes(timecode="01:00:00:00" if n == 86400 else None, tv_fps=25.0, red=n % 1024))
    Wav(samples=48000 * 2, bext=Bext(time_reference=samples_at(90000, 48000, Fraction(25))),
        ixml=Ixml(scene="12A", take="3", tape="S001", tracks=("MixL", "MixR"), rate="25", flag="NDF")
        ).write(card / "SOUND" / "T003.WAV")
    (card / "RED").mkdir()
    (card / "RED" / f"{RED}.R3D").write_bytes(b"RED2" + bytes(5000))
    prores_mov(card / f"{MOV}.mov", frames=12, rate=Fraction(24000, 1001), timecode="14:03:22:05",
               reel="A001R2EC", audio=(2,))
    cut(prores_mov(card / f"{CUT}.mov", frames=24).path, 0.6)
    return card
