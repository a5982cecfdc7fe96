"""scan_source on real trees: order, ignore rules, symlinks, special files, unreadable entries, odd names."""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import sys
import tempfile
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest

from datawrangler.core.errors import Code, OffloadError
from datawrangler.core.scan import DEFAULT_IGNORE, ScanResult, SourceFile, scan_source

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
NOBODY = 65534


def touch(path: Path, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def rels(result: ScanResult) -> list[str]:
    return [f.rel_path for f in result.files]


def skipped_by_path(result: ScanResult) -> dict[str, tuple[Code, str]]:
    return {s.rel_path: (s.code, s.message) for s in result.skipped}


def depth_first_key(rel: str) -> list[str]:
    return rel.split("/")


# --- order ---------------------------------------------------------------------------------------------


def test_two_scans_are_equal_and_name_sorted_depth_first(tmp_path: Path) -> None:
    card = tmp_path / "card"
    # Created out of name order, with names whose plain string order differs from the folder-by-folder order
    # ('-' and '.' sort before '/').
    for rel in ["a/z.mov", "B.mov", "A.mov", "A/x.mov", "A-1/y.mov", "A/sub/deep.mov", "A/b.mov", "0.wav",
                "A/sub.mov"]:
        touch(card / rel)
    first = scan_source(card)
    second = scan_source(card)
    assert first == second
    assert rels(first) == [
        "0.wav",
        "A/b.mov",
        "A/sub/deep.mov",  # folder 'sub' sorts before 'sub.mov'; its contents come right there
        "A/sub.mov",
        "A/x.mov",
        "A-1/y.mov",
        "A.mov",
        "B.mov",
        "a/z.mov",  # code-point order: upper case first
    ]
    assert rels(first) == sorted(rels(first), key=depth_first_key)


def test_order_is_independent_of_creation_order(tmp_path: Path) -> None:
    names = [f"CLIP_{i:03d}/{j:02d}.mxf" for i in range(20) for j in range(5)]
    one, two = tmp_path / "one", tmp_path / "two"
    for rel in names:
        touch(one / rel)
    for rel in reversed(names):
        touch(two / rel)
    assert rels(scan_source(one)) == rels(scan_source(two)) == sorted(names, key=depth_first_key)


def test_sizes_mtimes_and_total(tmp_path: Path, make_card) -> None:
    card = make_card()
    result = scan_source(card)
    by = {f.rel_path: f for f in result.files}
    assert by["SDINFO.TXT"].size == 120
    assert by["A001R2EC/A001C001_231014_R2EC.mov"].size == 3_000_000
    assert by["A001R2EC/A001C003_231014_R2EC.mov"].size == 0
    assert result.total_bytes == 3_000_000 + 5_000_000 + 0 + 120
    for f in result.files:
        assert isinstance(f, SourceFile)
        assert f.mtime_ns == os.stat(card / f.rel_path).st_mtime_ns
    assert result.root == str(card)
    assert result.skipped == [] and result.ignored == [] and result.errors == []


# --- ignore rules --------------------------------------------------------------------------------------

JUNK_FILES = [".DS_Store", "._A001C001.mov", "Thumbs.db", "desktop.ini", "CLIPS/.DS_Store", "CLIPS/._C0001.MP4"]
JUNK_DIRS = [".Spotlight-V100", ".fseventsd", ".Trashes", ".TemporaryItems", ".DocumentRevisions-V100",
             "System Volume Information", "$RECYCLE.BIN"]
CAMERA_FILES = ["SONYCARD.IND", "SDINFO.TXT", "STATUS.BIN", "MEDIAPRO.XML", "XDROOT/MEDIAPRO.XML",
                "PRIVATE/M4ROOT/STATUS.BIN", "CLIPS/A001C001.mov", "CLIPS/C0001.MP4"]


def test_default_ignore_list_skips_system_files_but_keeps_camera_index_files(tmp_path: Path) -> None:
    card = tmp_path / "card"
    for rel in JUNK_FILES + CAMERA_FILES:
        touch(card / rel)
    for d in JUNK_DIRS:
        touch(card / d / "store.db")
        touch(card / d / "nested" / "A001C001.mov")  # never walked into
    result = scan_source(card, DEFAULT_IGNORE)
    assert rels(result) == sorted(CAMERA_FILES, key=depth_first_key)
    assert sorted(result.ignored) == sorted(JUNK_FILES + JUNK_DIRS)
    assert result.total_bytes == len(CAMERA_FILES)
    assert result.skipped == []


def test_without_ignore_rules_everything_is_listed(tmp_path: Path) -> None:
    card = tmp_path / "card"
    touch(card / ".DS_Store")
    touch(card / ".Trashes" / "501" / "x")
    touch(card / "A001C001.mov")
    result = scan_source(card)  # the caller chooses the rules; none given, none applied
    assert rels(result) == [".DS_Store", ".Trashes/501/x", "A001C001.mov"]
    assert result.ignored == []


def test_custom_ignore_patterns(tmp_path: Path) -> None:
    card = tmp_path / "card"
    for rel in ["A001C001.mov", "A001C001.tmp", "sub/B.tmp", "sub/B.mov", "CACHE/big.bin", "x/CACHE/y.bin",
                "cache/kept.bin", ".DS_Store"]:
        touch(card / rel)
    result = scan_source(card, ["*.tmp", "CACHE", ""])
    # any level, folders not walked into, case-sensitive, and the defaults are not added behind the caller's back
    assert sorted(result.ignored) == ["A001C001.tmp", "CACHE", "sub/B.tmp", "x/CACHE"]
    assert rels(result) == [".DS_Store", "A001C001.mov", "cache/kept.bin", "sub/B.mov"]


# --- symlinks and special files ------------------------------------------------------------------------


def test_symlinks_are_reported_and_never_followed(tmp_path: Path) -> None:
    card = tmp_path / "card"
    outside = tmp_path / "outside"
    touch(outside / "secret.mov", b"outside")
    touch(card / "real.mov")
    (card / "file_link.mov").symlink_to(card / "real.mov")
    (card / "dir_link").symlink_to(outside, target_is_directory=True)
    (card / "loop_a").symlink_to("loop_b")
    (card / "loop_b").symlink_to("loop_a")
    (card / "self").symlink_to("self")
    (card / "dangling").symlink_to("does-not-exist")
    (card / "sub").mkdir()
    (card / "sub" / "up").symlink_to("..", target_is_directory=True)  # would loop forever if followed
    result = scan_source(card)
    assert rels(result) == ["real.mov"]
    assert result.total_bytes == 1
    sk = skipped_by_path(result)
    assert set(sk) == {"file_link.mov", "dir_link", "loop_a", "loop_b", "self", "dangling", "sub/up"}
    for rel, (code, message) in sk.items():
        assert code is Code.SYMLINK, rel
        assert "not followed" in message
        assert "Copy its target separately if it is needed" in message
    assert repr(str(outside)) in sk["dir_link"][1]  # the message names the target
    assert "'loop_b'" in sk["loop_a"][1]
    assert result.errors == []  # a symlink is reported, but does not make the card incomplete


def test_fifo_and_unix_socket_are_special_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    card = tmp_path / "card"
    touch(card / "clip.mov")
    os.mkfifo(card / "pipe")
    monkeypatch.chdir(card)  # AF_UNIX paths are limited to ~108 bytes: bind a relative name
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind("sock")
        result = scan_source(card)  # must not block opening the FIFO
    finally:
        sock.close()
    assert rels(result) == ["clip.mov"]
    sk = skipped_by_path(result)
    assert sk["pipe"][0] is Code.SPECIAL_FILE
    assert "Named pipe" in sk["pipe"][1]
    assert sk["sock"][0] is Code.SPECIAL_FILE
    assert "Socket" in sk["sock"][1]
    for _, message in sk.values():
        assert "not copied" in message and "copy it by other means" in message
    assert result.errors == []


@pytest.mark.root
def test_device_node_is_a_special_file(tmp_path: Path) -> None:
    if not IS_ROOT:
        pytest.skip("creating a device node needs root")
    card = tmp_path / "card"
    card.mkdir()
    os.mknod(card / "null", stat.S_IFCHR | 0o666, os.makedev(1, 3))
    result = scan_source(card)
    assert result.files == []
    assert result.skipped[0].code is Code.SPECIAL_FILE
    assert "Device file" in result.skipped[0].message


# --- unreadable entries --------------------------------------------------------------------------------


@pytest.fixture
def world_tmp() -> Iterator[Path]:
    """A folder every user can traverse (pytest's tmp_path is private to its owner)."""
    d = Path(tempfile.mkdtemp(prefix="dw-scan-"))
    d.chmod(0o755)
    try:
        yield d
    finally:
        for dirpath, dirnames, _ in os.walk(d):
            for name in dirnames:
                os.chmod(os.path.join(dirpath, name), 0o755)
        shutil.rmtree(d)


def _scan_unprivileged(root: Path) -> tuple[list[str], dict[str, tuple[str, str]], list[str]]:
    """Scan as a user without root's override of permissions: in a forked child that drops to nobody when
    we are root (the venv's interpreter may not be executable by nobody, so no exec), else in-process."""
    if not IS_ROOT:
        r = scan_source(root)
        return rels(r), {s.rel_path: (s.code.value, s.message) for s in r.skipped}, [e.rel_path for e in r.errors]
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        code = 1
        try:
            os.close(rfd)
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            r = scan_source(root)
            out = json.dumps([rels(r), {s.rel_path: (s.code.value, s.message) for s in r.skipped},
                              [e.rel_path for e in r.errors]])
            with os.fdopen(wfd, "w") as w:
                w.write(out)
            code = 0
        except BaseException as exc:
            try:
                os.write(2, f"child failed: {exc!r}\n".encode())
            finally:
                os._exit(3)
        finally:
            os._exit(code)
    os.close(wfd)
    with os.fdopen(rfd) as r_:
        data = r_.read()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "the unprivileged scan failed"
    files, skipped, errors = json.loads(data)
    return files, {k: (v[0], v[1]) for k, v in skipped.items()}, errors


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_unreadable_folder_and_file_are_reported(world_tmp: Path) -> None:
    card = world_tmp / "card"
    touch(card / "ok.mov")
    touch(card / "locked" / "inner.mov")
    touch(card / "noexec" / "listed_but_unstatable.mov")
    touch(card / "secret.mov")
    touch(card / "z_after.mov")
    os.chmod(card / "locked", 0o000)  # cannot be listed
    os.chmod(card / "noexec", 0o644)  # can be listed, its entries cannot be stat'ed
    os.chmod(card / "secret.mov", 0o000)
    files, skipped, errors = _scan_unprivileged(card)
    assert files == ["ok.mov", "z_after.mov"]  # the walk goes on after each problem
    assert set(skipped) == {"locked", "noexec/listed_but_unstatable.mov", "secret.mov"}
    assert sorted(errors) == sorted(skipped)  # all of them make the card incomplete
    for rel, (code, message) in skipped.items():
        assert code == Code.UNREADABLE.value, rel
        assert "then offload again" in message, message
    assert "Check permissions or the card" in skipped["locked"][1]
    assert "its files were not copied" in skipped["locked"][1]
    assert "Fix its permissions" in skipped["secret.mov"][1]


def test_unreadable_source_root_is_reported(world_tmp: Path) -> None:
    card = world_tmp / "card"
    touch(card / "a.mov")
    os.chmod(card, 0o000)
    files, skipped, errors = _scan_unprivileged(card)
    assert files == []
    assert skipped["."][0] == Code.UNREADABLE.value
    assert "Check permissions or the card, then offload again" in skipped["."][1]
    assert errors == ["."]


# --- the source itself ---------------------------------------------------------------------------------


def test_missing_source(tmp_path: Path) -> None:
    with pytest.raises(OffloadError) as info:
        scan_source(tmp_path / "NO_NAME")
    assert info.value.code is Code.SOURCE_MISSING
    assert info.value.path == str(tmp_path / "NO_NAME")
    assert "does not exist" in str(info.value)
    assert "Check that the card is mounted and the path is right" in str(info.value)


def test_dangling_symlink_source_is_missing(tmp_path: Path) -> None:
    (tmp_path / "card").symlink_to(tmp_path / "gone")
    with pytest.raises(OffloadError) as info:
        scan_source(tmp_path / "card")
    assert info.value.code is Code.SOURCE_MISSING


def test_source_that_is_a_file(tmp_path: Path) -> None:
    f = touch(tmp_path / "A001C001.mov")
    with pytest.raises(OffloadError) as info:
        scan_source(f)
    assert info.value.code is Code.SOURCE_NOT_DIR
    assert info.value.path == str(f)
    assert "is not a folder" in str(info.value)
    assert "Give the card's mount point or the folder that holds the clips" in str(info.value)


# --- shapes and names ----------------------------------------------------------------------------------


def test_deep_tree_200_levels(tmp_path: Path) -> None:
    card = tmp_path / "card"
    parts = [f"L{i:03d}" for i in range(200)]
    deepest = card.joinpath(*parts)
    deepest.mkdir(parents=True)
    touch(deepest / "bottom.wav", b"abc")
    touch(card / parts[0] / "a_top.wav")
    result = scan_source(card)
    assert rels(result) == ["/".join(parts) + "/bottom.wav", "L000/a_top.wav"]
    assert result.total_bytes == 4


def test_names_are_kept_exactly_as_spelled(tmp_path: Path) -> None:
    card = tmp_path / "card"
    nfc = unicodedata.normalize("NFC", "Café")
    nfd = unicodedata.normalize("NFD", "Café")
    assert nfc != nfd
    names = [
        "with space.mov",
        "  leading and trailing  ",
        "it's \"quoted\".mov",
        "new\nline.mov",
        "tab\there.wav",
        "back\\slash.mov",
        f"{nfc}.mov",
        f"{nfd}.mov",
        f"dir {nfd}/{nfc} inside.wav",
        "日本語/クリップ.mxf",
        "emoji 🎬.mp4",
    ]
    for i, rel in enumerate(names):
        touch(card / rel, bytes([i]))
    raw = os.fsdecode(b"latin1-\xe9.wav")  # not valid UTF-8 on disk: kept as the same bytes
    touch(card / raw)
    result = scan_source(card)
    got = rels(result)
    assert sorted(got) == sorted([*names, raw])
    assert f"{nfc}.mov" in got and f"{nfd}.mov" in got  # not merged, not normalised
    assert f"dir {nfd}/{nfc} inside.wav" in got
    for rel in got:
        assert (card / rel).is_file()  # each path, exactly as returned, opens the file
    assert os.fsencode(raw) == b"latin1-\xe9.wav"
    assert result.skipped == [] and result.ignored == []


def test_zero_byte_files(tmp_path: Path) -> None:
    card = tmp_path / "card"
    touch(card / "empty.txt", b"")
    touch(card / "sub" / "also_empty", b"")
    result = scan_source(card)
    assert [(f.rel_path, f.size) for f in result.files] == [("empty.txt", 0), ("sub/also_empty", 0)]
    assert result.total_bytes == 0


def test_ten_thousand_small_files(tmp_path: Path) -> None:
    card = tmp_path / "card"
    expected = []
    for d in range(100):
        folder = card / f"A001C{d:03d}"
        folder.mkdir(parents=True)
        for i in range(100):
            name = f"A001C{d:03d}.{i:07d}.ari"
            (folder / name).write_bytes(b"x" * (i % 7))
            expected.append(f"A001C{d:03d}/{name}")
    result = scan_source(card)
    assert len(result.files) == 10_000
    assert rels(result) == expected  # already in name order
    assert result.total_bytes == 100 * sum(i % 7 for i in range(100))
    assert result.skipped == []


def test_the_file_list_is_packed_and_gives_back_every_file_exactly(tmp_path: Path) -> None:
    """The scan's list keeps folders once and names in one buffer, yet gives back each SourceFile as
    appended: names with undecodable bytes (surrogates), non-ASCII, top-level files, in order."""
    from datawrangler.core.scan import FileList

    files = [SourceFile("top.mov", 0, -1), SourceFile("A001/é\u0301 clip.mov", 2**40, 1_700_000_000_123_456_789),
             SourceFile("A001/bad\udcff.R3D", 7, 0), SourceFile("A001/B/C/frame.0000001.ari", 16_000, 5),
             SourceFile("A002/x", 1, 2)]
    packed = FileList(files)
    assert len(packed) == 5 and list(packed) == files and packed == files
    assert [packed[i] for i in range(5)] == files and packed[-1] == files[-1] and packed[1:3] == files[1:3]
    with pytest.raises(IndexError):
        packed[5]
    assert packed._dirs == ["", "A001", "A001/B/C", "A002"]  # each folder once
    assert ScanResult("/card", files, [], [], 0).files == files  # a plain list given is packed
    assert isinstance(ScanResult("/card", files, [], [], 0).files, FileList)


def test_the_scans_file_list_is_a_fraction_of_a_list_of_tuples() -> None:
    """A card of 20,000 frames (1,000 to a folder): the packed list takes under a third of what a list of
    SourceFile took (the scan of 1,000,000 files was 296 MB of an offload's 647 MB peak)."""
    import tracemalloc

    from datawrangler.core.scan import FileList

    def frames() -> Iterator[SourceFile]:
        for i in range(20_000):
            clip = f"A001C{i // 1000 + 1:03d}_231014_R2EC"
            yield SourceFile(f"A001R2EC/{clip}/{clip}.{i % 1000:07d}.ari", 16_000 + i, 1_700_000_000_000_000_000 + i)

    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        plain = list(frames())
        as_list = tracemalloc.get_traced_memory()[0] - base
        del plain
        base = tracemalloc.get_traced_memory()[0]
        packed = FileList(frames())
        as_packed = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    assert len(packed) == 20_000 and packed[12_345] == next(f for n, f in enumerate(frames()) if n == 12_345)
    assert as_packed * 3 < as_list, (as_packed, as_list)


@pytest.mark.parametrize("per_folder", [40, 1], ids=["folders-merged", "sorted-whole"])
def test_the_file_list_gives_its_files_in_path_order_as_str_sorts(per_folder: int) -> None:
    """by_path (the fingerprint's order) is the order of sorting the paths as strings, across the folder
    boundaries a per-folder sort could get wrong: 'A-B/x' sorts before 'A/x' ('-' < '/'), a subfolder's
    files sort among its parent's files, names with surrogates and accents keep their place. Whether the
    folders are merged (many files a folder) or the list is sorted whole (a file or two a folder)."""
    from datawrangler.core.scan import FileList

    names = ["A/x", "A-B/y", "A/B/z", "A.mov", "top", "A/a", "A/Z", "A/B0", "A/B/a", "é/\udcff", "e\u0301/x", "A/~"]
    files = [SourceFile(f"{n}{k:03d}" if per_folder > 1 else n, len(n) + k, k)
             for n in names for k in range(per_folder)]
    files.reverse()  # appended out of order: the scan's order is not what by_path relies on
    packed = FileList(files)
    assert list(packed.by_path()) == sorted(files, key=lambda f: f.rel_path)
    assert list(packed.rel_paths()) == [f.rel_path for f in files]
