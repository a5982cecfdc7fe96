"""Hostile and broken ASC MHL histories on a drive from another unit, through `datawrangler import` and
`datawrangler verify`: each refused with what is wrong and which file, exit 1, nothing read outside the roll,
nothing written anywhere but the catalog (the whole test folder is listed before and after).

Each hostile roll also holds genuine files its history records correctly: a refusal is of the history, whole.
The helpers here are shared by the other test_hostile_* files.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import sqlite3
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import xxhash

from datawrangler.cli import main
from datawrangler.config import HOME_ENV
from datawrangler.core.hashing import hash_file
from datawrangler.handoff.ascmhl import Entry, Hash, c4_of, render_chain, render_manifest
from datawrangler.handoff.history import ChainLink
from datawrangler.store.handoff_names import manifest_name
from tests.conftest import write_file
from tests.handoff.conftest import CREATOR, NOW

SECRET = b"-----BEGIN PRIVATE KEY----- not for a drive from another unit\n"
FILES = {"Clips/A001C001.mov": 20_000, "Clips/A001C002.mov": 10_000, "SDINFO.TXT": 120}
NAME = manifest_name(1, "A001R2EC", NOW)  # 0001_A001R2EC_2023-10-14_224105Z.mhl


@dataclass
class Drive:
    """tmp_path/drive/A001R2EC: a roll with footage; tmp_path/outside: what no history may reach."""

    root: Path
    roll: Path
    outside: Path

    @property
    def folder(self) -> Path:
        return self.roll / "ascmhl"


@pytest.fixture
def drive(tmp_path: Path) -> Drive:
    d = Drive(tmp_path / "drive", tmp_path / "drive" / "A001R2EC", tmp_path / "outside")
    for i, (rel, size) in enumerate(FILES.items()):
        write_file(d.roll / rel, size, seed=i + 1)
    d.outside.mkdir()
    (d.outside / "secret.txt").write_bytes(SECRET)
    return d


def genuine(d: Drive, *extra: Entry, algorithms: tuple[str, ...] = ("xxh64", "md5")) -> list[Entry]:
    """The roll's files as a real history records them, and `extra` entries after them."""
    out = []
    for rel in FILES:
        p = d.roll / rel
        digests = hash_file(str(p), algorithms)
        out.append(Entry(rel, p.stat().st_size, p.stat().st_mtime_ns,
                         tuple(Hash(a, v, "original") for a, v in digests.items())))
    return [*out, *extra]


def secret_entry(rel: str) -> Entry:
    """An entry for `rel` with the secret's true digest: followed, it would even verify."""
    xxh = xxhash.xxh64(SECRET).hexdigest()
    return Entry(rel, len(SECRET), 1_697_280_000_000_000_000, (Hash("xxh64", xxh, "original"),))


def manifest(d: Drive, *extra: Entry) -> bytes:
    return render_manifest(genuine(d, *extra), CREATOR, "in-place", (), NOW)


def seal(roll: Path, manifests: dict[str, bytes], links: list[ChainLink] | None = None) -> Path:
    """Write ascmhl/ with these manifests and a chain that vouches for their bytes (or `links`); the path of
    the first manifest."""
    folder = roll / "ascmhl"
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in manifests.items():
        (folder / name).write_bytes(data)
    if links is None:
        links = [ChainLink(i + 1, name, c4_of(data)) for i, (name, data) in enumerate(manifests.items())]
    (folder / "ascmhl_chain.xml").write_bytes(render_chain(links))
    return folder / next(iter(manifests))


def snapshot(top: Path) -> dict[str, tuple[Any, ...]]:
    """Every entry under top (links not followed): kind, size, mtime and, for small files, a digest."""
    out: dict[str, tuple[Any, ...]] = {}
    for dirpath, dirs, files in os.walk(top):
        for name in dirs + files:
            p = Path(dirpath) / name
            st = p.lstat()
            rel = str(p.relative_to(top))
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", os.readlink(p))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir",)
            elif stat.S_ISREG(st.st_mode):
                digest = hashlib.sha256(p.read_bytes()).hexdigest() if st.st_size < 10_000_000 else None
                out[rel] = ("file", st.st_size, st.st_mtime_ns, digest)
            else:
                out[rel] = ("special", stat.S_IFMT(st.st_mode))
    return out


@dataclass
class Run:
    code: int
    events: list[dict[str, Any]]
    seconds: float
    stdout: str = ""

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("event") == kind]

    @property
    def done(self) -> dict[str, Any]:
        return self.of("done")[-1]


def run_cli(capsys: pytest.CaptureFixture[str], *args: str | Path, json_lines: bool = True) -> Run:
    capsys.readouterr()
    start = time.monotonic()
    code = main([*map(str, args), *(["--json"] if json_lines else [])])
    seconds = time.monotonic() - start
    out = capsys.readouterr().out
    events = [json.loads(x) for x in out.splitlines() if x.startswith("{")] if json_lines else []
    return Run(code, events, seconds, out)


def catalog() -> Path:
    return Path(os.environ[HOME_ENV]) / "hostile-catalog.sqlite"


def offload_rows() -> int:
    con = sqlite3.connect(catalog())
    try:
        return int(con.execute("SELECT COUNT(*) FROM offloads").fetchone()[0])
    finally:
        con.close()


# ------------------------------------------------------------------------------------------ hostile cases


@dataclass
class Hostile:
    expect: str  # what the message says is wrong
    names: Path  # the file the message names
    after: Callable[[], None] = field(default=lambda: None)  # a check of its own once both commands ran


def _bad_path(rel: str | Callable[[Drive], str], expect: str) -> Callable[[Drive], Hostile]:
    def build(d: Drive) -> Hostile:
        path = rel(d) if callable(rel) else rel
        return Hostile(expect, seal(d.roll, {NAME: manifest(d, secret_entry(path))}))
    return build


def _edited(edit: Callable[[Drive, bytes], bytes], expect: str) -> Callable[[Drive], Hostile]:
    def build(d: Drive) -> Hostile:
        return Hostile(expect, seal(d.roll, {NAME: edit(d, manifest(d))}))
    return build


def _doctype(decl: bytes, use: bytes = b"") -> Callable[[Drive, bytes], bytes]:
    def edit(_d: Drive, data: bytes) -> bytes:
        data = data.replace(b"?>\n", b"?>\n" + decl + b"\n", 1)
        return data.replace(b"<hostname>cart-01.local</hostname>", b"<hostname>" + use + b"</hostname>")
    return edit


LAUGHS = (b'<!DOCTYPE hashlist [<!ENTITY lol "lol">'
          + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
                     for i in range(1, 10)) + b"]>")


def _xxe_file(d: Drive) -> Hostile:
    decl = f'<!DOCTYPE hashlist [<!ENTITY xxe SYSTEM "file://{d.outside / "secret.txt"}">]>'.encode()
    return Hostile("declares a DTD", seal(d.roll, {NAME: _doctype(decl, b"&xxe;")(d, manifest(d))}))


def _xxe_http(d: Drive) -> Hostile:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    decl = f'<!DOCTYPE hashlist [<!ENTITY xxe SYSTEM "http://127.0.0.1:{listener.getsockname()[1]}/x">]>'.encode()

    def nobody_called() -> None:
        listener.setblocking(False)
        try:
            with pytest.raises(BlockingIOError):
                listener.accept()  # the entity was never fetched
        finally:
            listener.close()
    return Hostile("declares a DTD", seal(d.roll, {NAME: _doctype(decl, b"&xxe;")(d, manifest(d))}), nobody_called)


def _huge(d: Drive) -> Hostile:
    """A 2 GB manifest, sparse: nothing is written but its first bytes."""
    m = seal(d.roll, {NAME: manifest(d)})
    with open(m, "r+b") as f:
        f.truncate(2 << 30)
    return Hostile("is 2.1 GB (2,147,483,648 bytes), over the 250.0 MB", m)


def _deep(d: Drive) -> Hostile:
    head = manifest(d).split(b"<creatorinfo>")[0]
    return Hostile("nests its elements more than 16 deep",
                   seal(d.roll, {NAME: head + b"<a>" * 100_000 + b"</a>" * 100_000 + b"</hashlist>\n"}))


def _not_utf8(d: Drive) -> Hostile:
    data = manifest(d).replace(b"Clips/A001C002.mov", b"Clips/A001C\xff\xfe02.mov")
    at = data.index(b"\xff")
    return Hostile(f"is not valid UTF-8 (an undecodable byte at offset {at:,})", seal(d.roll, {NAME: data}))


def _digest(algorithm: str, change: Callable[[str], str], expect: str) -> Callable[[Drive], Hostile]:
    def build(d: Drive) -> Hostile:
        real = hash_file(str(d.roll / "SDINFO.TXT"), [algorithm])[algorithm]
        data = manifest(d).replace(real.encode(), change(real).encode())
        return Hostile(expect, seal(d.roll, {NAME: data}))
    return build


def _c4(d: Drive) -> Hostile:
    entry = Entry("Clips/extra.mov", 1, 0, (Hash("c4", "c4-not-an-id", "original"),))
    return Hostile("is not a C4 id", seal(d.roll, {NAME: manifest(d, entry)}))


def _raw(data: bytes, expect: str) -> Callable[[Drive], Hostile]:
    return lambda d: Hostile(expect, seal(d.roll, {NAME: data}))


def _linked_out(d: Drive) -> Hostile:
    (d.roll / "Linked").symlink_to(d.outside, target_is_directory=True)
    seal(d.roll, {NAME: manifest(d, secret_entry("Linked/secret.txt"))})
    return Hostile("'Linked/secret.txt', which leads outside", d.roll)


def _manifest_is_a_link(d: Drive) -> Hostile:
    seal(d.roll, {NAME: manifest(d)})
    (d.folder / NAME).unlink()
    (d.folder / NAME).symlink_to("/dev/zero")  # read, it would never end
    return Hostile("is a symbolic link", d.folder / NAME)


def _folder_is_a_link(d: Drive) -> Hostile:
    elsewhere = d.outside / "A001R2EC"
    seal(elsewhere, {NAME: manifest(d)})
    d.folder.symlink_to(elsewhere / "ascmhl", target_is_directory=True)
    return Hostile("is a symbolic link (to", d.folder)


def _chain(links: Callable[[Drive, bytes], list[ChainLink]], expect: str) -> Callable[[Drive], Hostile]:
    def build(d: Drive) -> Hostile:
        data = manifest(d)
        seal(d.roll, {NAME: data}, links(d, data))
        return Hostile(expect, d.folder / "ascmhl_chain.xml")
    return build


def _chain_outside(d: Drive, data: bytes) -> list[ChainLink]:
    (d.outside / "evil.mhl").write_bytes(data)  # a sound manifest, but not in this roll's folder
    return [ChainLink(1, "../../../outside/evil.mhl", c4_of(data))]


def _chain_raw(data: bytes, expect: str) -> Callable[[Drive], Hostile]:
    def build(d: Drive) -> Hostile:
        seal(d.roll, {NAME: manifest(d)})
        (d.folder / "ascmhl_chain.xml").write_bytes(data)
        return Hostile(expect, d.folder / "ascmhl_chain.xml")
    return build


HOSTILE: dict[str, Callable[[Drive], Hostile]] = {
    "dotdot": _bad_path("../../outside/secret.txt", "climbs out of its folder with '..'"),
    "dotdot-inside": _bad_path("Clips/../../../outside/secret.txt", "climbs out of its folder with '..'"),
    "backslash-dotdot": _bad_path("Clips\\..\\..\\..\\outside\\secret.txt", "climbs out of its folder with '..'"),
    "absolute": _bad_path(lambda d: str(d.outside / "secret.txt"), "is absolute"),
    "etc-passwd": _bad_path("/etc/passwd", "is absolute"),
    "drive-letter": _bad_path("C:\\Windows\\win.ini", "starts with a drive letter"),
    "drive-letter-slash": _bad_path("C:/Windows/win.ini", "starts with a drive letter"),
    "unc": _bad_path("\\\\server\\share\\A001C001.mov", "is a network (UNC) path"),
    "empty-component": _bad_path("Clips//A001C001.mov", "has an empty or '.' component"),
    "nul-reference": _edited(lambda d, b: b.replace(b"SDINFO.TXT", b"SDINFO&#0;.TXT"),
                             "is not well-formed XML (reference to invalid character number"),
    "nul-byte": _edited(lambda d, b: b.replace(b"SDINFO.TXT", b"SDINFO\x00.TXT"), "is not well-formed XML"),
    "symlink-out": _linked_out,
    "billion-laughs": _edited(_doctype(LAUGHS, b"&lol9;"), "declares a DTD (<!DOCTYPE hashlist>)"),
    "xxe-file": _xxe_file,
    "xxe-http": _xxe_http,
    "doctype-only": _edited(_doctype(b"<!DOCTYPE hashlist>"), "declares a DTD"),
    "huge": _huge,
    "deep": _deep,
    "not-utf8": _not_utf8,
    "not-hex": _digest("xxh64", lambda v: "zz" + v[2:], "is not hexadecimal"),
    "md5-short": _digest("md5", lambda v: v[:31], "has 31 digits, not the 32 of md5"),
    "xxh64-long": _digest("xxh64", lambda v: v * 2, "has 32 digits, not the 16 of xxh64"),
    "not-c4": _c4,
    "size-not-a-number": _edited(lambda d, b: b.replace(b'size="120"', b'size="-1"'), "not a number of bytes"),
    "truncated": _edited(lambda d, b: b[: len(b) // 2], "is not well-formed XML"),
    "empty": _raw(b"", "is empty"),
    "wrong-root": _raw(b'<?xml version="1.0"?>\n<html><body/></html>\n', "its root element is <html>"),
    "manifest-is-a-link": _manifest_is_a_link,
    "folder-is-a-link": _folder_is_a_link,
    "chain-names-itself": _chain(lambda d, b: [ChainLink(1, NAME, c4_of(b)), ChainLink(2, "ascmhl_chain.xml",
                                 c4_of(b))], "never another path or the chain itself"),
    "chain-leads-outside": _chain(_chain_outside, "never another path or the chain itself"),
    "chain-number": _chain_raw(b'<ascmhldirectory xmlns="urn:ASC:MHL:DIRECTORY:v2.0"><hashlist sequencenr="one">'
                               b"<path>" + NAME.encode() + b"</path></hashlist></ascmhldirectory>",
                               "gives the generation number 'one', not a whole number from 1"),
    "chain-laughs": _chain_raw(b'<?xml version="1.0"?>\n' + LAUGHS + b"<ascmhldirectory>&lol9;</ascmhldirectory>",
                               "declares a DTD"),
    "chain-not-xml": _chain_raw(b"\x89PNG\r\n\x1a\n", "not valid UTF-8"),
}


@pytest.mark.parametrize("case", HOSTILE)
def test_a_hostile_history_is_refused_by_import_and_verify(case: str, drive: Drive, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    hostile = HOSTILE[case](drive)
    before = snapshot(tmp_path)

    imp = run_cli(capsys, "import", drive.root, "--catalog", catalog())
    (roll,) = imp.done["rolls"]
    assert imp.code == 1 and roll["offload_id"] is None, imp.events
    message = roll["message"]
    assert message.startswith("not imported: ") and hostile.expect in message, message
    assert str(hostile.names) in message and "Ask whoever made it" in message, message
    assert offload_rows() == 0  # nothing of it in the catalog

    ver = run_cli(capsys, "verify", drive.root, "--catalog", catalog())
    assert ver.code == 1, ver.events
    (check,) = ver.done["rolls"]
    assert not ver.done["ok"] and check["checked"] == 0 and not ver.of("file")  # not one file read
    assert any(hostile.expect in p and str(hostile.names) in p for p in check["problems"]), check["problems"]

    assert imp.seconds < 10 and ver.seconds < 10
    assert snapshot(tmp_path) == before  # nothing written, moved or removed: not in the roll, not outside it
    hostile.after()


# ------------------------------------------------------------------- a chain that does not hold, not hostile


def _two(d: Drive) -> tuple[bytes, bytes]:
    return manifest(d), render_manifest(genuine(d), CREATOR, "in-place", (), NOW.replace(hour=23))


BROKEN: dict[str, tuple[Callable[[Drive], list[ChainLink]], str]] = {
    "generation-twice": (lambda d: [ChainLink(1, NAME, c4_of(manifest(d)))] * 2, "lists generation 1 2 times"),
    "renumbered": (lambda d: [ChainLink(2, NAME, c4_of(manifest(d)))],
                   f"lists {NAME} as generation 2, but its name says 1"),
    "generation-gone": (lambda d: [ChainLink(1, NAME, c4_of(manifest(d))),
                                   ChainLink(3, manifest_name(3, "A001R2EC", NOW), c4_of(_two(d)[1]))],
                        "skips generation 2 and its manifest is not there"),
    "manifest-missing": (lambda d: [ChainLink(1, NAME, c4_of(manifest(d))),
                                    ChainLink(2, manifest_name(2, "A001R2EC", NOW), c4_of(_two(d)[1]))],
                         f"{manifest_name(2, 'A001R2EC', NOW)} is listed in the chain but missing"),
}


@pytest.mark.parametrize("case", BROKEN)
def test_a_chain_that_does_not_hold_is_not_imported_and_verify_says_so(case: str, drive: Drive, tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    links, expect = BROKEN[case]
    first, third = _two(drive)
    chain = links(drive)
    manifests = {NAME: first}
    if case == "generation-gone":
        manifests[manifest_name(3, "A001R2EC", NOW)] = third
    seal(drive.roll, manifests, chain)
    before = snapshot(tmp_path)

    imp = run_cli(capsys, "import", drive.root, "--catalog", catalog())
    (roll,) = imp.done["rolls"]
    assert imp.code == 1 and roll["offload_id"] is None and expect in roll["message"], roll
    assert offload_rows() == 0

    ver = run_cli(capsys, "verify", drive.root, "--catalog", catalog())
    (check,) = ver.done["rolls"]
    assert ver.code == 1 and any(expect in p for p in check["problems"]), check
    # the manifests themselves are sound: the files are still checked against them, and said to match
    assert check["checked"] == check["verified"] == len(FILES)
    assert snapshot(tmp_path) == before


def test_the_refusal_reads_as_a_sentence_without_json(drive: Drive, capsys: pytest.CaptureFixture[str]) -> None:
    m = seal(drive.roll, {NAME: manifest(drive, secret_entry("../../outside/secret.txt"))})
    imp = run_cli(capsys, "import", drive.root, "--catalog", catalog(), json_lines=False)
    assert imp.code == 1
    assert (f"{drive.roll}: not imported: {m} lists the path '../../outside/secret.txt', which climbs out of its "
            "folder with '..'") in imp.stdout
    ver = run_cli(capsys, "verify", drive.root, "--catalog", catalog(), json_lines=False)
    assert ver.code == 1 and "PROBLEMS: 0 of 0 files" in ver.stdout and "1 history problem: " in ver.stdout
    assert f"The ASC MHL history in {drive.folder} is refused." in ver.stdout


def test_a_sound_roll_beside_a_hostile_one_is_still_imported(drive: Drive, capsys: pytest.CaptureFixture[str]
                                                             ) -> None:
    """One roll's history is refused, not the drive's: the other roll is imported as usual."""
    seal(drive.roll, {NAME: manifest(drive, secret_entry("/etc/passwd"))})
    other = drive.root / "B002R1AB"
    for i, (rel, size) in enumerate(FILES.items()):
        write_file(other / rel, size, seed=i + 1)
    seal(other, {manifest_name(1, "B002R1AB", NOW): manifest(drive)})
    imp = run_cli(capsys, "import", drive.root, "--catalog", catalog())
    rolls = {Path(r["roll"]).name: r for r in imp.done["rolls"]}
    assert rolls["A001R2EC"]["offload_id"] is None and "is absolute" in rolls["A001R2EC"]["message"]
    assert rolls["B002R1AB"]["offload_id"] and offload_rows() == 1
    assert imp.code == 1  # a refused roll beside a good one: not a success for a script
