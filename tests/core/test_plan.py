"""OffloadPlan.create and preflight on real folders (and real mounts when root)."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import unicodedata
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from datawrangler import platform
from datawrangler.core import plan as plan_mod
from datawrangler.core.errors import Code, OffloadError
from datawrangler.core.events import VerifyMode
from datawrangler.core.hashing import DEFAULT_ALGORITHMS
from datawrangler.core.plan import OffloadPlan, Preflight, Problem, preflight
from datawrangler.core.scan import DEFAULT_IGNORE, ScanResult, SourceFile, scan_source

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def run_preflight(card: Path, roots: list[Path] | list[str], **kw: object) -> Preflight:
    plan = OffloadPlan.create(card, roots, **kw)  # type: ignore[arg-type]
    return preflight(plan, scan_source(card, plan.ignore))


def codes(problems: list[Problem]) -> list[Code]:
    return [p.code for p in problems]


def only(problems: list[Problem], code: Code) -> list[Problem]:
    return [p for p in problems if p.code is code]


# --- mounts (root only) --------------------------------------------------------------------------------


def _run(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(cmd), capture_output=True, text=True, timeout=60)


@pytest.fixture
def mounts() -> Iterator[Callable[..., Path]]:
    """mount(target, *args) runs `mount *args target`; every mount is undone at teardown, whatever happens."""
    done: list[Path] = []

    def mount(target: Path, *args: str) -> Path:
        if not IS_ROOT:
            pytest.skip("mounting needs root")
        if shutil.which("mount") is None:
            pytest.skip("no mount(8) on this system")
        target.mkdir(parents=True, exist_ok=True)
        proc = _run("mount", *args, str(target))
        if proc.returncode != 0:
            pytest.skip(f"cannot mount ({' '.join(args)}): {proc.stderr.strip()}")
        done.append(target)
        return target

    yield mount
    for target in reversed(done):
        if _run("umount", str(target)).returncode != 0:
            _run("umount", "-l", str(target))
    assert all(not os.path.ismount(t) for t in done), "a test left a mount behind"


def tmpfs(mount: Callable[..., Path], target: Path, size: str) -> Path:
    return mount(target, "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs")


# --- OffloadPlan.create --------------------------------------------------------------------------------


def test_create_derives_the_roll_folder_from_the_card_name(make_card, dest_dirs) -> None:
    card = make_card(name="A002R1AB")
    d1, d2 = dest_dirs(2)
    plan = OffloadPlan.create(card, [d1, d2])
    assert plan.source == str(card)
    assert plan.destinations == (str(d1 / "A002R1AB"), str(d2 / "A002R1AB"))
    assert plan.algorithms == DEFAULT_ALGORITHMS
    assert plan.verify_mode is VerifyMode.FULL
    assert plan.ignore == DEFAULT_IGNORE
    # A trailing slash or a relative path changes nothing.
    again = OffloadPlan.create(str(card) + "/", [str(d1) + "/", d2])
    assert again.source == str(card)
    assert again.destinations == plan.destinations


def test_create_relative_paths_and_roll_override(make_card, dest_dirs, monkeypatch: pytest.MonkeyPatch) -> None:
    card = make_card(name="S001")
    (d1,) = dest_dirs(1)
    monkeypatch.chdir(card.parent)
    plan = OffloadPlan.create("S001", [os.path.relpath(d1)], roll_name="SOUND_S001")
    assert plan.source == str(card)
    assert plan.destinations == (str(d1 / "SOUND_S001"),)


def test_create_with_one_root_given_as_a_string(make_card, dest_dirs) -> None:
    card = make_card(name="A001R2EC")
    (d1,) = dest_dirs(1)
    plan = OffloadPlan.create(card, str(d1))  # type: ignore[arg-type]
    assert plan.destinations == (str(d1 / "A001R2EC"),)


def test_create_parses_algorithms_and_verify_mode(make_card, dest_dirs) -> None:
    card = make_card()
    (d1,) = dest_dirs(1)
    plan = OffloadPlan.create(card, [d1], algorithms=" xxh64, MD5,xxh64", verify_mode="size", retries=0)
    assert plan.algorithms == ("xxh64", "md5")
    assert plan.verify_mode is VerifyMode.SIZE
    assert plan.retries == 0
    plan = OffloadPlan.create(card, [d1], algorithms=["xxh128"], verify_mode=VerifyMode.DESTINATIONS)
    assert plan.algorithms == ("xxh128",)
    assert plan.verify_mode is VerifyMode.DESTINATIONS


@pytest.mark.parametrize("algorithms", ["xxh64,sha256", "crc32", ["md5", "blake3"]])
def test_unknown_hash_is_a_clear_error(make_card, dest_dirs, algorithms: object) -> None:
    with pytest.raises(OffloadError) as info:
        OffloadPlan.create(make_card(), dest_dirs(1), algorithms=algorithms)  # type: ignore[arg-type]
    assert info.value.code is Code.UNKNOWN_HASH
    assert "Unknown hash algorithm" in str(info.value)
    assert "Choose from: " in str(info.value) and "xxh64" in str(info.value) and "md5" in str(info.value)


@pytest.mark.parametrize("algorithms", ["", " , ", []])
def test_no_hash_is_a_clear_error(make_card, dest_dirs, algorithms: object) -> None:
    with pytest.raises(OffloadError) as info:
        OffloadPlan.create(make_card(), dest_dirs(1), algorithms=algorithms)  # type: ignore[arg-type]
    assert info.value.code is Code.UNKNOWN_HASH
    assert "No hash algorithm given. Choose from:" in str(info.value)


@pytest.mark.parametrize("mode", ["fast", "FULL ", "", "none"])
def test_unknown_verify_mode_is_a_clear_error(make_card, dest_dirs, mode: str) -> None:
    with pytest.raises(OffloadError) as info:
        OffloadPlan.create(make_card(), dest_dirs(1), verify_mode=mode)
    assert info.value.code is Code.UNKNOWN_VERIFY_MODE
    assert f"Unknown verify mode {mode!r}" in str(info.value)
    assert "use full, destinations or size" in str(info.value)


# --- preflight: where the destinations are -------------------------------------------------------------


def test_good_plan_passes(make_card, dest_dirs) -> None:
    pf = run_preflight(make_card(), dest_dirs(2))
    assert pf.ok and pf.errors == []
    pf.raise_for_errors()  # nothing to raise
    # All on one disk in tmp: only same-drive warnings, no name or space problems.
    assert set(codes(pf.warnings)) == {Code.SAME_VOLUME}


def test_no_destination(make_card) -> None:
    pf = run_preflight(make_card(), [])
    assert codes(pf.errors) == [Code.NO_DESTINATION]
    assert "Add at least one drive" in pf.errors[0].message


def test_destination_inside_source(make_card, dest_dirs) -> None:
    card = make_card()
    (d1,) = dest_dirs(1)
    pf = run_preflight(card, [card, d1])
    assert codes(pf.errors) == [Code.DEST_INSIDE_SOURCE]
    p = pf.errors[0]
    assert p.path == str(card / card.name)
    assert "is inside the card" in p.message and "Never write to the card: choose another drive" in p.message
    assert len(os.listdir(card / card.name)) == 3  # nothing was written into the card, not even a probe


def test_destination_inside_source_through_a_symlink(make_card, tmp_path: Path) -> None:
    card = make_card()
    (tmp_path / "innocent").symlink_to(card / "A001R2EC", target_is_directory=True)
    pf = run_preflight(card, [tmp_path / "innocent"])
    assert codes(pf.errors) == [Code.DEST_INSIDE_SOURCE]


def test_source_inside_destination(make_card, tmp_path: Path) -> None:
    # The card was already copied to drive1/A001R2EC and is being offloaded from there into drive1 again.
    card = make_card(name="A001R2EC", root=tmp_path / "drive1" / "A001R2EC")
    pf = run_preflight(card, [tmp_path / "drive1"])
    assert codes(pf.errors) == [Code.SOURCE_INSIDE_DEST]
    assert "is inside the destination" in pf.errors[0].message
    assert "Choose a destination folder outside the card" in pf.errors[0].message


def test_destination_equals_source(make_card) -> None:
    card = make_card(name="A001R2EC")
    pf = run_preflight(card, [card.parent])  # the roll folder would be the card itself
    assert codes(pf.errors) == [Code.DEST_IS_SOURCE]
    assert "is the card itself" in pf.errors[0].message
    assert "Choose a folder on another drive" in pf.errors[0].message


def test_destination_equals_source_through_a_symlinked_roll(make_card, dest_dirs) -> None:
    card = make_card(name="A001R2EC")
    (d1,) = dest_dirs(1)
    (d1 / "A001R2EC").symlink_to(card, target_is_directory=True)
    pf = run_preflight(card, [d1])
    assert codes(pf.errors) == [Code.DEST_IS_SOURCE]


@pytest.mark.parametrize("how", ["same", "trailing slash", "dot segments", "symlinked root"])
def test_same_destination_twice(make_card, dest_dirs, tmp_path: Path, how: str) -> None:
    card = make_card()
    d1, d2 = dest_dirs(2)
    other = {
        "same": str(d1),
        "trailing slash": str(d1) + "/",
        "dot segments": str(d2 / ".." / d1.name / "."),
        "symlinked root": str(tmp_path / "alias"),
    }[how]
    (tmp_path / "alias").symlink_to(d1, target_is_directory=True)
    pf = run_preflight(card, [d1, d2, other])
    assert codes(pf.errors) == [Code.DEST_DUPLICATE]
    assert "is given twice as a destination" in pf.errors[0].message
    assert "Remove the duplicate: one folder is one copy" in pf.errors[0].message


def test_same_roll_twice_in_a_hand_made_plan(make_card, dest_dirs) -> None:
    card = make_card()
    d1, d2 = dest_dirs(2)
    roll = str(d1 / card.name)
    # Plans built without create(): a trailing slash, and a roll folder that is a symlink to another roll.
    (d2 / card.name).symlink_to(d1 / card.name, target_is_directory=True)
    (d1 / card.name).mkdir()
    for dests in [(roll, roll + "/"), (roll, str(d2 / card.name))]:
        pf = preflight(OffloadPlan(str(card), dests), scan_source(card))
        assert codes(pf.errors) == [Code.DEST_DUPLICATE], dests


def test_destination_missing(make_card, dest_dirs, tmp_path: Path) -> None:
    card = make_card()
    (d1,) = dest_dirs(1)
    gone = tmp_path / "media" / "SHUTTLE_B"
    pf = run_preflight(card, [d1, gone])
    assert codes(pf.errors) == [Code.DEST_MISSING]
    assert pf.errors[0].path == str(gone)
    assert "does not exist or is not a folder" in pf.errors[0].message
    assert "Connect the drive or create the folder" in pf.errors[0].message


def test_destination_that_is_a_file(make_card, tmp_path: Path) -> None:
    card = make_card()
    f = tmp_path / "not_a_drive"
    f.write_bytes(b"")
    pf = run_preflight(card, [f])
    assert codes(pf.errors) == [Code.DEST_MISSING]


def test_source_gone_before_preflight(make_card, dest_dirs) -> None:
    card = make_card()
    plan = OffloadPlan.create(card, dest_dirs(1))
    scan = scan_source(card)
    shutil.rmtree(card)  # card pulled between the scan and the preflight
    pf = preflight(plan, scan)
    assert codes(pf.errors) == [Code.SOURCE_MISSING]
    assert "Check that the card is mounted" in pf.errors[0].message


def test_raise_for_errors(make_card, tmp_path: Path) -> None:
    card = make_card()
    pf = run_preflight(card, [tmp_path / "x", tmp_path / "y", card])
    assert not pf.ok
    with pytest.raises(OffloadError) as info:
        pf.raise_for_errors()
    assert info.value.code is pf.errors[0].code
    assert "(and 2 more problems)" in str(info.value)


# --- read-only destinations ----------------------------------------------------------------------------


def test_read_only_destination(make_card, dest_dirs, tmp_path: Path, mounts) -> None:
    card = make_card()
    d1, d2 = dest_dirs(2)
    if IS_ROOT:  # root ignores permissions: a read-only bind mount is what a locked drive looks like
        ro = mounts(tmp_path / "ro", "--bind", str(d2))
        proc = _run("mount", "-o", "remount,bind,ro", str(ro))
        assert proc.returncode == 0, proc.stderr
    else:
        ro = d2
        ro.chmod(0o555)
    try:
        pf = run_preflight(card, [d1, ro])
    finally:
        d2.chmod(0o755)
    assert codes(pf.errors) == [Code.DEST_READ_ONLY]
    p = pf.errors[0]
    assert p.path == str(ro / card.name)
    assert "Cannot write to" in p.message
    assert "Check the drive's write protection and the folder's permissions" in p.message
    assert os.listdir(d2) == []  # the probe left nothing behind


# --- free space ----------------------------------------------------------------------------------------


@pytest.mark.root
def test_not_enough_free_space(make_card, tmp_path: Path, mounts) -> None:
    small = tmpfs(mounts, tmp_path / "small", "1m")
    big = tmpfs(mounts, tmp_path / "big", "8m")
    card = make_card(files={"A001C001.mov": 2_000_000, "A001C002.mov": 0})
    pf = run_preflight(card, [big, small])
    assert codes(pf.errors) == [Code.NO_SPACE]
    p = pf.errors[0]
    assert p.path == str(small)
    assert "Not enough free space" in p.message and "needs 2.0 MB" in p.message and "1.0 MB free" in p.message
    assert "Free space or choose a larger drive" in p.message
    assert "shared by" not in p.message


@pytest.mark.root
def test_free_space_is_summed_over_destinations_sharing_a_filesystem(make_card, tmp_path: Path, mounts) -> None:
    drive = tmpfs(mounts, tmp_path / "drive", "4m")
    (drive / "day1").mkdir()
    (drive / "day1_backup").mkdir()
    card = make_card(files={f"A001C00{i}.mov": 1_000_000 for i in range(3)})
    alone = run_preflight(card, [drive / "day1"])  # 3 MB into 4 MiB: fits
    assert Code.NO_SPACE not in codes(alone.errors)
    both = run_preflight(card, [drive / "day1", drive / "day1_backup"])  # 6 MB into 4 MiB: does not
    assert codes(both.errors) == [Code.NO_SPACE]
    assert "(shared by 2 destinations)" in both.errors[0].message
    assert "Free space or choose a larger drive" in both.errors[0].message
    # And the two folders are one physical copy.
    shared = only(both.warnings, Code.SAME_VOLUME)
    assert any("are on one physical drive" in p.message and "count as one copy" in p.message for p in shared)


@pytest.mark.root
def test_files_already_at_the_destination_need_no_space(make_card, tmp_path: Path, mounts) -> None:
    drive = tmpfs(mounts, tmp_path / "drive", "4m")
    files = {f"A001C00{i}.mov": 1_000_000 for i in range(3)}
    card = make_card(files=files)
    roll = drive / card.name
    roll.mkdir()
    for name in list(files)[:2]:  # an interrupted earlier offload left two files
        shutil.copyfile(card / name, roll / name)
    st = os.statvfs(drive)
    free = st.f_bavail * st.f_frsize
    assert 1_003_520 < free < 3 * 1_003_520  # room for one more file, not for the whole card
    pf = run_preflight(card, [drive])
    assert Code.NO_SPACE not in codes(pf.errors), pf.errors  # only the third file needs room


@pytest.mark.root
def test_free_space_is_per_filesystem_not_per_disk(make_card, tmp_path: Path, mounts,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    # Two partitions of one disk: one physical copy, but each partition has its own free space.
    p1 = tmpfs(mounts, tmp_path / "part1", "4m")
    p2 = tmpfs(mounts, tmp_path / "part2", "4m")
    real_pv = platform.physical_volume
    disk = {os.stat(p1).st_dev, os.stat(p2).st_dev}
    monkeypatch.setattr(platform, "physical_volume",
                        lambda p: "blk:259:0" if os.stat(p).st_dev in disk else real_pv(p))
    card = make_card(files={f"A001C00{i}.mov": 1_000_000 for i in range(3)})
    pf = run_preflight(card, [p1, p2])
    assert Code.NO_SPACE not in codes(pf.errors), pf.errors  # 3 MB on each of two 4 MiB partitions fits
    assert any("are on one physical drive" in p.message for p in only(pf.warnings, Code.SAME_VOLUME))


# --- same volume ---------------------------------------------------------------------------------------


def test_two_destinations_on_one_volume_warn(make_card, dest_dirs) -> None:
    card = make_card()
    d1, d2 = dest_dirs(2)
    pf = run_preflight(card, [d1, d2])
    assert pf.ok
    multi = [p for p in only(pf.warnings, Code.SAME_VOLUME) if "are on one physical drive" in p.message]
    assert len(multi) == 1
    assert str(d1 / card.name) in multi[0].message and str(d2 / card.name) in multi[0].message
    assert "they count as one copy, not several" in multi[0].message
    # Here the card is on that drive too.
    on_card = [p for p in only(pf.warnings, Code.SAME_VOLUME) if "same drive as the card" in p.message]
    assert len(on_card) == 2 and "it is not a backup of it" in on_card[0].message


@pytest.mark.root
def test_destinations_on_separate_volumes_do_not_warn(make_card, tmp_path: Path, mounts) -> None:
    card = make_card(root=tmpfs(mounts, tmp_path / "card", "16m"))
    a = tmpfs(mounts, tmp_path / "a", "16m")
    b = tmpfs(mounts, tmp_path / "b", "16m")
    pf = run_preflight(card, [a, b])
    assert pf.ok and pf.warnings == []
    (b / "second").mkdir()
    pf = run_preflight(card, [a, b, b / "second"])
    assert len(only(pf.warnings, Code.SAME_VOLUME)) == 1
    assert "are on one physical drive" in pf.warnings[0].message


# --- names ---------------------------------------------------------------------------------------------

NFC = unicodedata.normalize("NFC", "Scène 1.wav")
NFD = unicodedata.normalize("NFD", "Scène 1.wav")


def test_unicode_form_collision_warns_on_a_case_sensitive_destination(make_card, dest_dirs) -> None:
    card = make_card(files={NFC: 10, NFD: 11, "CLIP.mov": 1, "clip.mov": 2})
    pf = run_preflight(card, dest_dirs(1))
    assert pf.ok
    coll = only(pf.warnings, Code.NAME_COLLISION)
    assert len(coll) == 1  # CLIP.mov/clip.mov are two files on ext4 and are not reported
    assert "differ only in Unicode form" in coll[0].message
    assert "They copy to" in coll[0].message and "as two files" in coll[0].message
    assert "rename them on a copy of the card" in coll[0].message


def test_collisions_are_errors_on_a_case_insensitive_destination(make_card, dest_dirs,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Simulated: the probe reports a case-insensitive destination (macOS APFS, exFAT)."""
    card = make_card(files={NFC: 10, NFD: 11, "CLIP.mov": 1, "clip.mov": 2, "Other.mov": 3})
    real_probe = plan_mod.probe
    monkeypatch.setattr(plan_mod, "probe", lambda folder: (*real_probe(folder)[:1], True, ""))
    pf = run_preflight(card, dest_dirs(1))
    coll = only(pf.errors, Code.NAME_COLLISION)
    assert sorted(p.path for p in coll) == sorted([NFD if NFD > NFC else NFC, "clip.mov"])
    for p in coll:
        assert "differ only in letter case or Unicode form" in p.message
        assert "Copy them to a case-sensitive destination" in p.message


def test_collisions_are_found_in_folders_seen_before_and_between_folders_once(make_card, dest_dirs,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Files of a folder already looked at are still compared with each other (a.mov / A.mov after many files
    of the folder), two folders that differ in case are said once however many files they hold, and their
    files do not make pairs of their own."""
    files = {f"A001/F{i:03d}.ari": 100 + i for i in range(20)}
    files |= {"A001/z.mov": 1, "A001/Z.mov": 2}
    files |= {f"a001/G{i:03d}.ari": 200 + i for i in range(5)}
    files |= {f"B/{NFC}": 3, f"B/{NFD}": 4}
    card = make_card(files=files)
    real_probe = plan_mod.probe
    monkeypatch.setattr(plan_mod, "probe", lambda folder: (*real_probe(folder)[:1], True, ""))
    pf = run_preflight(card, dest_dirs(1))
    paths = sorted(p.path for p in only(pf.errors, Code.NAME_COLLISION))
    second = max(f"B/{NFC}", f"B/{NFD}")  # the card lists names in byte order: the larger comes second
    assert paths == sorted(["A001/z.mov", "a001", second]), paths
    folder = next(p for p in only(pf.errors, Code.NAME_COLLISION) if p.path == "a001")
    assert "would be one folder" in folder.message


@pytest.mark.root
def test_case_collision_on_a_real_casefold_ext4(make_card, tmp_path: Path, mounts) -> None:
    for tool in ("mkfs.ext4", "chattr"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")
    if not os.path.exists("/sys/fs/ext4/features/casefold"):
        pytest.skip("this kernel's ext4 has no casefold support (CONFIG_UNICODE is off), so a real "
                    "case-insensitive filesystem cannot be made; the simulated test covers the logic")
    image = tmp_path / "casefold.img"
    with open(image, "wb") as f:
        f.truncate(32 << 20)
    proc = _run("mkfs.ext4", "-q", "-F", "-O", "casefold", str(image))
    if proc.returncode != 0:
        pytest.skip(f"mkfs.ext4 cannot make a casefold filesystem: {proc.stderr.strip()}")
    drive = mounts(tmp_path / "cf", "-o", "loop", str(image))
    (drive / "ci").mkdir()
    proc = _run("chattr", "+F", str(drive / "ci"))
    assert proc.returncode == 0, proc.stderr
    card = make_card(files={"CLIP.mov": 1, "clip.mov": 2, "Other.mov": 3})
    pf = run_preflight(card, [drive / "ci"])
    assert codes(pf.errors) == [Code.NAME_COLLISION]
    assert "Copy them to a case-sensitive destination" in pf.errors[0].message
    # The same card into a case-sensitive folder of that drive is fine.
    (drive / "cs").mkdir()
    assert run_preflight(card, [drive / "cs"]).ok


BAD_NAMES = ["a:b.mov", "what?.wav", "pipe|d.mov", 'q"uote.mov', "star*.mov", "lt<gt>.mov", "back\\slash.mov",
             "dot.", "space ", "DIR:1/sub?/x.mov"]


def test_names_illegal_on_exfat_warn_on_ext4(make_card, dest_dirs) -> None:
    card = make_card(files={**{n: 1 for n in BAD_NAMES}, "fine name.mov": 1, "A001C001.MXF": 1})
    pf = run_preflight(card, dest_dirs(1))
    assert pf.ok
    bad = only(pf.warnings, Code.NAME_NOT_ALLOWED)
    assert len(bad) == 1
    msg = bad[0].message
    assert msg.startswith(f"{len(BAD_NAMES)} names contain characters that exFAT and NTFS forbid")  # one per path
    assert "They copy here, but will fail on an exFAT or NTFS drive later" in msg
    assert "fine name.mov" not in msg


def test_names_illegal_on_exfat_are_errors_on_an_exfat_destination(make_card, dest_dirs,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    card = make_card(files={"ok.mov": 1, "A001:C001.mov": 1, "sub/trail.": 1})
    (d1,) = dest_dirs(1)
    monkeypatch.setattr(platform, "fstype", lambda path: "exfat")  # the kernel here has no exFAT
    pf = run_preflight(card, [d1])
    assert codes(pf.errors) == [Code.NAME_NOT_ALLOWED]
    msg = pf.errors[0].message
    assert msg.startswith("2 names contain characters that exFAT and NTFS forbid")
    assert "'A001:C001.mov'" in msg and "'sub/trail.'" in msg
    assert "is exfat and cannot hold them: copy to a drive formatted APFS, HFS+ or ext4" in msg
    monkeypatch.setattr(platform, "fstype", lambda path: "ext4")
    assert run_preflight(card, [d1]).ok


def _with_files(card: Path, *extra: str) -> ScanResult:
    """The scan of a card as another OS would see it: names Linux cannot create here."""
    scan = scan_source(card)
    return dataclasses.replace(scan, files=[*scan.files, *(SourceFile(r, 1, 0) for r in extra)])


def test_names_over_255_bytes(make_card, dest_dirs) -> None:
    card = make_card(files={"ok.mov": 1})
    long_name = "é" * 128 + ".mov"  # 132 characters (fine on an exFAT card), 260 bytes in UTF-8
    at_limit = "x" * 251 + ".mov"  # exactly 255 bytes
    plan = OffloadPlan.create(card, dest_dirs(1))
    pf = preflight(plan, _with_files(card, f"CLIPS/{long_name}", f"CLIPS/{at_limit}"))
    assert codes(pf.errors) == [Code.NAME_TOO_LONG]
    p = pf.errors[0]
    assert p.path == f"CLIPS/{long_name}"
    assert "is longer than 255 bytes" in p.message and "Rename it on a copy of the card" in p.message


def test_paths_over_path_max(make_card, tmp_path: Path) -> None:
    # A real card whose deepest path fits under its mount point but not under a long destination path.
    rel = "/".join(["p" * 250] * 15) + "/clip.mov"
    card = make_card(files={rel: 1, "short.mov": 1})
    short = tmp_path / "d"
    deep = tmp_path / ("D" * 250) / ("E" * 200)
    short.mkdir()
    deep.mkdir(parents=True)
    path_max = os.pathconf(short, "PC_PATH_MAX")
    assert len(os.fsencode(str(short / card.name / rel))) < path_max
    assert len(os.fsencode(str(deep / card.name / rel))) >= path_max
    assert run_preflight(card, [short]).ok
    pf = run_preflight(card, [deep])
    assert codes(pf.errors) == [Code.PATH_TOO_LONG]
    p = pf.errors[0]
    assert p.path == rel
    assert f"would be longer than {path_max} bytes" in p.message
    assert "Choose a destination folder with a shorter path" in p.message


def test_path_max_boundary(make_card, dest_dirs) -> None:
    card = make_card(files={"a.mov": 1})
    plan = OffloadPlan.create(card, dest_dirs(1))
    dest = plan.destinations[0]
    path_max = os.pathconf(os.path.dirname(dest), "PC_PATH_MAX")
    room = path_max - 1 - len(os.fsencode(dest)) - 1  # the longest rel path that still fits (with its NUL)
    fits = ("f" * 200 + "/") * (room // 201)
    rest = room - len(fits)
    fits = fits[:-1] + "g" if rest == 0 else fits + "g" * rest
    too_long = fits + "h"
    assert len(os.fsencode(dest)) + 1 + len(fits) == path_max - 1
    assert preflight(plan, _with_files(card, fits)).ok
    assert codes(preflight(plan, _with_files(card, too_long)).errors) == [Code.PATH_TOO_LONG]


@pytest.mark.parametrize("roll", ["../escape", "a/b", "..", " ", "A001:R2", "bad\nname", "x" * 300])
def test_a_roll_name_that_is_not_one_folder_is_refused(make_card, dest_dirs, roll: str) -> None:
    with pytest.raises(OffloadError) as info:
        OffloadPlan.create(make_card(), dest_dirs(1), roll_name=roll)
    assert info.value.code is Code.BAD_ROLL_NAME
    assert "Choose another" in str(info.value)


def test_a_plain_roll_name_is_used_as_given(make_card, dest_dirs) -> None:
    (d1,) = dest_dirs(1)
    plan = OffloadPlan.create(make_card(), [d1], roll_name="A001_DAY03 Ünit-B")
    assert plan.destinations == (os.path.join(str(d1), "A001_DAY03 Ünit-B"),)


def test_source_uncached_survives_the_catalog_round_trip(tmp_path: Path) -> None:
    """A stage-2 offload resumed from the catalog still reads its source from the drive."""
    from datawrangler.store.offloads import plan_from_json, plan_to_json

    plan = OffloadPlan.create(tmp_path / "card", [tmp_path / "d"], source_uncached=True)
    assert plan_from_json(plan_to_json(plan)).source_uncached is True
    default = OffloadPlan.create(tmp_path / "card", [tmp_path / "d"])
    assert plan_from_json(plan_to_json(default)).source_uncached is False
