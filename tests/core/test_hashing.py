"""Every algorithm's digest equals the reference tool's on the same file."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest
import xxhash

from datawrangler.core.errors import Code, OffloadError
from datawrangler.core.hashing import ALGORITHMS, MultiHasher, c4_from_sha512, hash_file, mhl_order, parse_algorithms
from tests.conftest import write_file

# xxhsum's -H option: 1 = XXH64, 2 = XXH128, 3 = XXH3 (64-bit)
XXHSUM_FLAG = {"xxh64": "-H1", "xxh128": "-H2", "xxh3": "-H3"}


@pytest.fixture(params=[0, 1, 4095, 4 << 20, (8 << 20) + 7], ids=lambda n: f"{n}B")
def sample(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    return write_file(tmp_path / "clip.mov", request.param, seed=request.param)


@pytest.mark.parametrize("algo", ["xxh64", "xxh128", "xxh3"])
def test_xxhash_digests_equal_xxhsum(algo: str, sample: Path) -> None:
    if shutil.which("xxhsum") is None:
        pytest.skip("xxhsum is not installed (Debian package 'xxhash'; .ci/run installs it)")
    out = subprocess.run(["xxhsum", XXHSUM_FLAG[algo], str(sample)], check=True, capture_output=True, text=True)
    line = out.stdout.strip()
    # GNU style "<hex>  <file>", except XXH3 in xxhsum 0.8.1: BSD style "XXH3 (<file>) = <hex>"
    reference = line.rsplit("= ", 1)[1] if line.startswith("XXH3 (") else line.split()[0]
    assert hash_file(str(sample), [algo])[algo] == reference


@pytest.mark.parametrize("tool,algo", [("md5sum", "md5"), ("sha1sum", "sha1")])
def test_md5_sha1_equal_coreutils(tool: str, algo: str, sample: Path) -> None:
    out = subprocess.run([tool, str(sample)], check=True, capture_output=True, text=True)
    assert hash_file(str(sample), [algo])[algo] == out.stdout.split()[0]


def test_all_digests_from_one_read_equal_separate_reads(sample: Path) -> None:
    data = sample.read_bytes()
    together = hash_file(str(sample), list(ALGORITHMS), chunk_size=65536)
    assert together["md5"] == hashlib.md5(data).hexdigest()
    assert together["sha1"] == hashlib.sha1(data).hexdigest()
    assert together["xxh64"] == xxhash.xxh64(data).hexdigest()
    assert together["xxh3"] == xxhash.xxh3_64(data).hexdigest()
    assert together["xxh128"] == xxhash.xxh3_128(data).hexdigest()
    assert together["c4"] == c4_from_sha512(hashlib.sha512(data).digest())


def test_c4_matches_the_published_ids() -> None:
    # SMPTE ST 2114 / the C4 reference implementation's examples
    assert c4_from_sha512(hashlib.sha512(b"").digest()) == (
        "c459dsjfscH38cYeXXYogktxf4Cd9ibshE3BHUo6a58hBXmRQdZrAkZzsWcbWtDg5oQstpDuni4Hirj75GEmTc1sFT")
    assert c4_from_sha512(hashlib.sha512(b"foo").digest()) == (
        "c45xZeXwMSpqXjpDumcHMA6mhoAmGHkUo7r9WmN2UgSEQzj9KjgseaQdkEJ11fGb5S1WEENcV3q8RFWwEeVpC7Fjk2")


def test_c4_pads_small_values_to_90_characters() -> None:
    assert c4_from_sha512(b"\x00" * 64) == "c4" + "1" * 88
    assert c4_from_sha512(b"\x00" * 63 + b"\x01") == "c4" + "1" * 87 + "2"


def test_chunking_does_not_change_digests() -> None:
    data = bytes(range(256)) * 1000
    a, b = MultiHasher(["xxh64", "md5"]), MultiHasher(["xxh64", "md5"])
    a.update(data)
    for i in range(0, len(data), 777):
        b.update(memoryview(data)[i : i + 777])
    assert a.hexdigests() == b.hexdigests()


def test_parse_algorithms_keeps_order_and_rejects_unknown_names() -> None:
    assert parse_algorithms("XXH64, md5,xxh64") == ("xxh64", "md5")
    with pytest.raises(OffloadError) as info:
        parse_algorithms("xxh64,crc32")
    assert info.value.code is Code.UNKNOWN_HASH
    assert "crc32" in str(info.value) and "Choose from" in str(info.value)
    with pytest.raises(OffloadError):
        parse_algorithms("")


def test_mhl_order_is_the_standard_order() -> None:
    assert mhl_order(["xxh64", "md5", "c4", "xxh128"]) == ["c4", "md5", "xxh128", "xxh64"]


def test_the_registry_is_the_one_table() -> None:
    """Every name has one entry, in ASC MHL's order; checksum lists and MHL 1.1 elements come from it."""
    from datawrangler.core.hashing import LIST_ALGORITHMS, REGISTRY
    from datawrangler.handoff import legacy

    assert tuple(REGISTRY) == ALGORITHMS == ("c4", "md5", "sha1", "xxh128", "xxh3", "xxh64")
    assert all(REGISTRY[a].name == a for a in ALGORITHMS)
    assert LIST_ALGORITHMS == ("md5", "sha1", "xxh128", "xxh3", "xxh64")  # c4 has no checker
    assert dict(legacy.TAGS) == {"md5": "md5", "sha1": "sha1", "xxh64": "xxhash64be"}
    assert [REGISTRY[a].list_tag for a in LIST_ALGORITHMS] == [None, None, None, "XXH3", None]
