"""Names a destination cannot hold as the card spells them: control characters and bytes that are not UTF-8
(refused on every drive), characters exFAT and NTFS forbid, names and paths over the limits, and names the
drive takes for one (letter case, Unicode form), found by probing the drive itself rather than trusting its
filesystem type alone."""

from __future__ import annotations

import contextlib
import os
import re
import unicodedata
import uuid
from collections.abc import Sequence

from datawrangler import platform
from datawrangler.core.errors import Code
from datawrangler.core.problems import Preflight, Problem
from datawrangler.core.scan import SourceFile
from datawrangler.core.words import agree, plural


def probe(folder: str) -> tuple[bool, bool | None, str]:
    """Can we create a file here, and is the filesystem case-insensitive? (writable, insensitive, err)"""
    name = f".dwprobe-{uuid.uuid4().hex[:8]}Ab"
    path = os.path.join(folder, name)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except OSError as exc:
        return False, None, exc.strerror or str(exc)
    os.close(fd)
    try:
        insensitive = os.path.exists(os.path.join(folder, name.lower()))
    finally:
        os.unlink(path)
    return True, insensitive, ""


def folds_form(folder: str) -> bool:
    """Does the filesystem take a name's two Unicode forms for one (APFS, HFS+, ZFS with normalization)? A
    file made under the decomposed spelling (NFD), looked up under the composed one (NFC). A drive that
    refuses the name (it is valid UTF-8) folds nothing here: the check of the card's names says the rest."""
    stem = os.path.join(folder, f".dwprobe-{uuid.uuid4().hex[:8]}")
    try:
        fd = os.open(stem + "e\u0301", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except OSError:
        return False
    os.close(fd)
    try:
        return os.path.exists(stem + "\u00e9")
    finally:
        with contextlib.suppress(OSError):
            os.unlink(stem + "e\u0301")


# Characters no destination takes in a name as it is: C0 controls (a line break, a tab...), DEL, and the two
# non-characters XML forbids. Most cannot be written in an ASC MHL (XML 1.0), exFAT and NTFS refuse them, and
# a line break or tab splits the name in every report, list and terminal that shows it.
NOT_TEXT = frozenset(chr(c) for c in range(1, 32)) | {"\x7f", "\ufffe", "\uffff"}
_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\"}
_MAX_COLLISIONS = 10  # pairs said one by one per destination; the rest are counted

# The checks of every path as single regular expressions (a 30,000-file card's preflight spent 0.7 s in loops over
# each character and each part of each path): a character no drive takes; a byte that is not UTF-8; a character
# exFAT and NTFS forbid, or a name ending in a space or a dot; a name of more than 63 characters, the shortest
# that can pass 255 bytes (4 bytes a character at most), whose bytes are then counted.
_NOT_TEXT_RE = re.compile("[" + re.escape("".join(sorted(NOT_TEXT))) + "]")
_UNDECODABLE_RE = re.compile("[\ud800-\udfff]")
_FORBIDDEN_RE = re.compile("[" + re.escape("".join(sorted(platform.FORBIDDEN_CHARS - NOT_TEXT))) + "]|[ .](?:/|$)")
_MAYBE_LONG_RE = re.compile("[^/]{64}")


def undecodable(name: str) -> bool:
    """A name that is not Unicode text: bytes that are not UTF-8 (Python keeps them as lone surrogates)."""
    return _UNDECODABLE_RE.search(name) is not None


def shown(name: str, limit: int = 100) -> str:
    """A card's name as a message shows it: quoted, with every character visible (a line break as \\n, a
    control character as \\x01, a byte that is not UTF-8 as \\xff, a backslash doubled), and a long one cut
    in the middle, where names differ least."""
    chars: list[str] = []
    for c in name:
        o = ord(c)
        if c in _ESCAPES:
            chars.append(_ESCAPES[c])
        elif 0xDC80 <= o <= 0xDCFF:  # os.fsdecode's escape of one undecodable byte
            chars.append(f"\\x{o - 0xDC00:02x}")
        elif c in NOT_TEXT or undecodable(c):
            chars.append(f"\\x{o:02x}" if o < 0x100 else f"\\u{o:04x}")
        else:
            chars.append(c)
    if len(chars) > limit:
        chars = [*chars[: limit // 2], "…", *chars[-(limit // 2):]]
    return "'" + "".join(chars) + "'"


def _examples(paths: list[str]) -> str:
    return ", ".join(shown(p, 80) for p in paths[:3])


def check_card_names(pf: Preflight, files: Sequence[SourceFile]) -> None:
    """Names no destination can take as the card spells them: refused once, whatever the drives."""
    not_text = [f.rel_path for f in files if _NOT_TEXT_RE.search(f.rel_path)]
    if not_text:
        n = len(not_text)
        them = agree(n, "it", "them")
        pf.errors.append(Problem(
            Code.NAME_NOT_ALLOWED,
            f"{plural(n, 'name')} on the card {agree(n, 'contains', 'contain')} control characters (a line break, "
            f"a tab or another invisible character), e.g. {_examples(not_text)}. The ASC MHL cannot list most of "
            "them, exFAT and NTFS drives cannot hold them, and a line break splits the name in every report and "
            f"list. Rename {them} on a copy of the card and offload the copy.", not_text[0]))
    not_utf8 = [f.rel_path for f in files if undecodable(f.rel_path)]
    if not_utf8:
        n = len(not_utf8)
        them = agree(n, "it", "them")
        pf.errors.append(Problem(
            Code.NAME_NOT_ALLOWED,
            f"{plural(n, 'name')} on the card {agree(n, 'is', 'are')} not valid UTF-8 (the bytes that are not "
            f"are shown as \\xNN), e.g. {_examples(not_utf8)}. The catalog and the ASC MHL keep names as UTF-8 "
            f"text, and exFAT, NTFS and APFS drives cannot hold such a name. Rename {them} on a copy of the card "
            f"(on the computer that wrote {them}) and offload the copy.", not_utf8[0]))


def check_names(pf: Preflight, dest: str, files: Sequence[SourceFile], fs: str, insensitive: bool,
                 folds_form: bool = False) -> None:
    """What this destination cannot hold. exFAT, FAT and NTFS (`restricted`) are drives read on Windows and
    macOS: what those refuse is refused there, and only warned about elsewhere. A destination that ignores
    letter case is taken to ignore the Unicode form too, as macOS does on every drive it mounts."""
    restricted = fs in platform.RESTRICTED_FS
    try:
        path_max = os.pathconf(os.path.dirname(dest), "PC_PATH_MAX")
    except (OSError, ValueError, AttributeError):
        path_max = 4096
    dest_len = len(os.fsencode(dest))
    fold_case = insensitive or restricted
    long_names: list[tuple[str, str]] = []  # (path, its name that is too long)
    long_paths: list[str] = []
    bad_chars: list[str] = []
    spellings: dict[str, str] = {}  # the folded key of every file and folder path -> its spelling on the card
    pairs: set[tuple[str, str, bool]] = set()
    folders: set[str] = set()  # folders whose every part is in `spellings` without a collision
    for f in files:
        path = f.rel_path
        # 255 bytes: ext4, XFS, APFS. (exFAT and NTFS count 255 UTF-16 units, never more than the UTF-8 bytes.)
        if _MAYBE_LONG_RE.search(path):
            too_long = next((part for part in path.split("/") if len(os.fsencode(part)) > 255), None)
            if too_long is not None:
                long_names.append((path, too_long))
        if _FORBIDDEN_RE.search(path):
            bad_chars.append(path)  # a path counts once, however many of its parts are bad
        if dest_len + 1 + 4 * len(path) >= path_max and dest_len + 1 + len(os.fsencode(path)) >= path_max:
            long_paths.append(path)
        pair = _collision(path, spellings, fold_case, folders)
        if pair is not None and pair not in pairs:  # two folders collide once, not once per file in them
            pairs.add(pair)
            if len(pairs) <= _MAX_COLLISIONS:
                _say_collision(pf, dest, *pair, refuse=fold_case or folds_form)
    if len(pairs) > _MAX_COLLISIONS:
        rest = len(pairs) - _MAX_COLLISIONS
        problem = Problem(Code.NAME_COLLISION, f"{plural(rest, 'more pair')} of names on the card differ only in "
                          f"letter case or Unicode form, as above (on {dest}).", dest)
        (pf.errors if fold_case or folds_form else pf.warnings).append(problem)
    if long_names:
        path, name = long_names[0]
        n = len(long_names)
        also = (f" {plural(n - 1, 'more name')} on the card {agree(n - 1, 'is', 'are')} too long for it too, e.g. "
                f"{_examples([p for p, _ in long_names[1:]])}.") if n > 1 else ""
        pf.errors.append(Problem(Code.NAME_TOO_LONG, f"The name {shown(name, 60)} of {shown(path)} is longer than 255 "
                                 f"bytes ({len(os.fsencode(name))}), which "
                                 f"{dest} cannot hold.{also} Rename {agree(n, 'it', 'them')} on a copy of the card "
                                 "and offload the copy.", path))
    if long_paths:
        path = long_paths[0]
        size = dest_len + 1 + len(os.fsencode(path))
        also = (f" So would {plural(len(long_paths) - 1, 'more path')}, e.g. {_examples(long_paths[1:])}."
                if len(long_paths) > 1 else "")
        pf.errors.append(Problem(Code.PATH_TOO_LONG, f"The path of {shown(path)} would be longer than {path_max} bytes"
                                 f" on {dest} ({size} bytes).{also} Choose a destination folder with a shorter path.",
                                 path))
    if bad_chars:
        text = (f"{len(bad_chars)} names contain characters that exFAT and NTFS forbid "
                f"(\" * : < > ? \\ |) or end in a space or a dot, e.g. {_examples(bad_chars)}")
        if restricted:
            pf.errors.append(Problem(Code.NAME_NOT_ALLOWED, f"{text}. {dest} is {fs} and cannot hold them: "
                                     "copy to a drive formatted APFS, HFS+ or ext4.", bad_chars[0]))
        else:
            pf.warnings.append(Problem(Code.NAME_NOT_ALLOWED, f"{text}. They copy here, but will fail on an "
                                       "exFAT or NTFS drive later.", bad_chars[0]))


def _collision(path: str, spellings: dict[str, str], fold_case: bool, folders: set[str]
               ) -> tuple[str, str, bool] | None:
    """The first folder or file of this path whose name folds like another one's spelled otherwise (in
    Unicode form always; in letter case where the drive ignores it): (the other, this one, is a file). A path
    whose folder is in `folders` (each of its folders already in `spellings`, with no collision) has only its
    own name looked at: a card's files share a few folders."""
    folder = path.rpartition("/")[0]
    if folder in folders:
        spellings_of_path = [path]
    else:
        parts = path.split("/")
        spellings_of_path = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    for spelled in spellings_of_path:
        key = unicodedata.normalize("NFC", spelled)
        if fold_case:
            key = key.casefold()
        other = spellings.setdefault(key, spelled)
        if other != spelled:
            return other, spelled, spelled == path
    if folder:
        folders.add(folder)
    return None


def _say_collision(pf: Preflight, dest: str, other: str, spelled: str, is_file: bool, *, refuse: bool) -> None:
    kind = "file" if is_file else "folder"
    then = "one would overwrite the other" if is_file else "the files of both would be in it under one spelling"
    if refuse:
        pf.errors.append(Problem(Code.NAME_COLLISION, f"{shown(other)} and {shown(spelled)} differ only in letter case"
                                 f" or Unicode form; on {dest} they would be one {kind}, and {then}. Copy them to a "
                                 "case-sensitive destination (ext4, XFS), or rename one of them on a copy of the "
                                 "card.", spelled))
    else:
        pf.warnings.append(Problem(Code.NAME_COLLISION, f"{shown(other)} and {shown(spelled)} differ only in Unicode "
                                   f"form. They copy to {dest} as two {kind}s, but would become one on macOS or a "
                                   "case-insensitive drive: keep this copy on Linux or rename them on a copy of the "
                                   "card.", spelled))
