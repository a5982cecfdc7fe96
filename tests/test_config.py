"""Settings: typed defaults, DATAWRANGLER_HOME, clear errors for a broken file, round-trip."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from datawrangler.config import (
    DEFAULT_IGNORE,
    HOME_ENV,
    Paths,
    Settings,
    SettingsError,
    app_paths,
    load_settings,
    save_settings,
)

FIX_HINT = "Fix the file or delete the key to use the default"


def _write(paths: Paths, data: object) -> Path:
    paths.config_dir.mkdir(parents=True, exist_ok=True)
    paths.settings_file.write_text(json.dumps(data), encoding="utf-8")
    return paths.settings_file


def test_defaults_without_a_settings_file() -> None:
    paths = app_paths()
    assert not paths.settings_file.exists()
    s = load_settings()
    assert s == Settings()
    assert s.algorithms == ("xxh64",)
    assert s.verify_mode == "full"
    assert s.copies_required == 2
    assert s.ignore == DEFAULT_IGNORE
    assert s.retries == 2 and s.read_retries == 3
    assert s.overlap_verify is True
    assert s.extra == {}


def test_default_ignore_matches_domain_list() -> None:
    assert set(DEFAULT_IGNORE) == {
        ".DS_Store", "._*", ".Spotlight-V100", ".fseventsd", ".Trashes", ".TemporaryItems",
        ".DocumentRevisions-V100", "System Volume Information", "$RECYCLE.BIN", "Thumbs.db", "desktop.ini",
    }
    # Camera index files are part of the card.
    for keep in ("SONYCARD.IND", "SDINFO.TXT", "STATUS.BIN", "MEDIAPRO.XML"):
        assert keep not in DEFAULT_IGNORE


def test_home_env_moves_config_data_and_logs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "station home"
    monkeypatch.setenv(HOME_ENV, str(home))
    p = app_paths()
    assert p.config_dir == home / "config"
    assert p.data_dir == home / "data"
    assert p.log_dir == home / "logs"
    assert p.settings_file == home / "config" / "settings.json"
    assert p.catalog_file == home / "data" / "catalog.sqlite"
    assert p.reports_dir == home / "data" / "reports"
    save_settings(Settings(operator="Jo"))
    assert (home / "config" / "settings.json").is_file()
    assert load_settings().operator == "Jo"


def test_explicit_env_mapping_and_platformdirs_fallback(tmp_path: Path) -> None:
    p = app_paths({HOME_ENV: str(tmp_path)})
    assert p.config_dir == tmp_path / "config"
    q = app_paths({})
    assert q.config_dir != tmp_path / "config"
    assert "DataWrangler" in str(q.config_dir)


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("copies_required", "2", "must be a whole number"),
        ("copies_required", True, "must be a whole number"),
        ("copies_required", 2.5, "must be a whole number"),
        ("retries", None, "must be a whole number"),
        ("overlap_verify", 1, "must be true or false"),
        ("overlap_verify", "yes", "must be true or false"),
        ("verify_mode", 3, "must be text"),
        ("operator", ["a"], "must be text"),
        ("algorithms", "xxh64", "must be a list of strings"),
        ("algorithms", ["xxh64", 5], "must be a list of strings"),
        ("ignore", {".DS_Store": True}, "must be a list of strings"),
        ("extra", ["not", "a", "mapping"], "must be a JSON object"),
    ],
)
def test_wrong_type_names_the_key_and_says_what_to_do(key: str, value: object, expected: str) -> None:
    paths = app_paths()
    f = _write(paths, {"production": "Night Shoot", key: value})
    with pytest.raises(SettingsError) as info:
        load_settings()
    msg = str(info.value)
    assert f"'{key}'" in msg
    assert expected in msg
    assert str(f) in msg  # which file
    assert FIX_HINT in msg


@pytest.mark.parametrize("text", ["{not json", '{"retries": 2,}', "", "\xff\xfe garbage"])
def test_invalid_json_is_a_clear_error(text: str) -> None:
    paths = app_paths()
    paths.config_dir.mkdir(parents=True, exist_ok=True)
    paths.settings_file.write_bytes(text.encode("latin-1"))
    with pytest.raises(SettingsError) as info:
        load_settings()
    msg = str(info.value)
    assert str(paths.settings_file) in msg
    assert "cannot be read" in msg
    assert "Fix it or move it away" in msg


@pytest.mark.parametrize("data", [[1, 2], "text", 3, None])
def test_json_that_is_not_an_object_is_a_clear_error(data: object) -> None:
    paths = app_paths()
    _write(paths, data)
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert "does not hold a JSON object" in str(info.value)
    assert "Fix it or move it away" in str(info.value)


def test_unknown_keys_are_tolerated_and_kept_on_save() -> None:
    paths = app_paths()
    _write(paths, {"copies_required": 3, "from_a_newer_version": {"x": 1}, "cascade": True})
    s = load_settings()
    assert s.copies_required == 3
    assert s == Settings(copies_required=3)
    save_settings(Settings(copies_required=4))
    on_disk = json.loads(paths.settings_file.read_text(encoding="utf-8"))
    # A newer version's settings survive an older version saving the file.
    assert on_disk["from_a_newer_version"] == {"x": 1}
    assert on_disk["cascade"] is True
    assert on_disk["copies_required"] == 4
    assert load_settings().copies_required == 4


def test_save_load_round_trip() -> None:
    s = Settings(
        algorithms=("xxh128", "md5"),
        verify_mode="destinations",
        copies_required=3,
        ignore=(".DS_Store", "*.tmp"),
        retries=5,
        read_retries=1,
        chunk_mib=16,
        queue_depth=2,
        overlap_verify=False,
        production="Nuit blanche — é",
        operator="Zoë",
        extra={"preset": "ARRI", "n": [1, 2]},
    )
    save_settings(s)
    paths = app_paths()
    assert paths.settings_file.is_file()
    assert not paths.settings_file.with_suffix(".json.tmp").exists()
    loaded = load_settings()
    assert loaded == s
    assert isinstance(loaded.algorithms, tuple) and isinstance(loaded.ignore, tuple)
    # Saved as plain JSON lists, readable by hand.
    assert json.loads(paths.settings_file.read_text(encoding="utf-8"))["algorithms"] == ["xxh128", "md5"]
    # Saving again over an existing file replaces it.
    save_settings(Settings())
    assert load_settings() == Settings()


def test_save_to_explicit_paths(tmp_path: Path) -> None:
    paths = Paths(tmp_path / "c", tmp_path / "d", tmp_path / "l")
    save_settings(Settings(production="P"), paths)
    assert load_settings(paths).production == "P"
    assert load_settings() == Settings()  # the env home is untouched


@pytest.mark.parametrize(
    "data,key",
    [
        ({"algorithms": ["xxh64", "crc32"]}, "algorithms"),
        ({"algorithms": []}, "algorithms"),
        ({"verify_mode": "quick"}, "verify_mode"),
        ({"copies_required": 0}, "copies_required"),
        ({"retries": -1}, "retries"),
        ({"chunk_mib": 4096}, "chunk_mib"),
    ],
)
def test_settings_with_impossible_values_name_the_key(data: dict, key: str) -> None:
    with pytest.raises(SettingsError) as info:
        Settings.from_dict(data)
    assert f"'{key}'" in str(info.value) and "delete the key to use the default" in str(info.value)
