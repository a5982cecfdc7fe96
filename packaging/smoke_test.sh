#!/usr/bin/env bash
# Smoke test of a built bundle: the bundled binary alone (no venv, no source tree on its path), offscreen,
# with its own DATAWRANGLER_HOME. It proves that the interpreter, Qt, the lazily imported commands and the
# runtime assets (card rules, report templates: importlib.resources) all made it into the bundle.
#
#     packaging/smoke_test.sh dist/datawrangler/datawrangler
#
# Needs python3 (to read pyproject and the JSON events) and pdftotext (poppler-utils).
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=$(realpath "${1:-dist/datawrangler/datawrangler}")
read -r NAME VERSION < <(python3 packaging/project_meta.py)
command -v pdftotext >/dev/null || { echo "smoke test: pdftotext is needed (apt-get install poppler-utils)" >&2; exit 2; }

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
export DATAWRANGLER_HOME="$WORK/home" QT_QPA_PLATFORM=offscreen LANG=C.UTF-8
unset PYTHONPATH PYTHONHOME VIRTUAL_ENV
CLIP=$(realpath packaging/smoke_clip.mov)  # a real 6-frame ProRes clip (10:00:00:00, reel A001R2EC)
cd "$WORK"  # nothing from the source tree can be picked up by accident

fail() { echo "smoke test FAILED: $*" >&2; exit 1; }
step() { echo "smoke: $*"; }
dw() { "$BIN" "$@"; }

step "the assets are in the bundle"
internal=$(dirname "$BIN")/_internal
for f in datawrangler/resources/cards/rules.json datawrangler/resources/reports/offload.html.j2; do
  [ -f "$internal/$f" ] || fail "$f is missing from $internal"
done

step "every library in the bundle finds what it links to"
# Not found on the build machine means not collected: the bundle would lack it too. PyInstaller leaves the
# Wayland client libraries to the user's system on purpose (they follow the compositor), so those may be absent.
missing=$(cd "$internal" && find . -name '*.so*' -type f -print0 \
  | xargs -0 -n1 sh -c 'LD_LIBRARY_PATH=$PWD ldd "$0" 2>/dev/null | grep "not found" | sed "s|^|$0: |"' \
  | grep -v -E 'libwayland-(client|cursor|egl)' || true)
[ -z "$missing" ] || fail "unresolved libraries (install them on the build machine):
$missing"

step "--version says $NAME $VERSION"
out=$(dw --version)
[ "$out" = "$NAME $VERSION" ] || fail "--version printed '$out', pyproject says '$NAME $VERSION'"
dw --help >/dev/null || fail "--help"

# A tiny ARRI card: two clips under the card-id folder, as an ALEXA writes them.
card="$WORK/cards/A001R2EC"
mkdir -p "$card/A001R2EC" "$WORK/drive1" "$WORK/drive2"
head -c 3000000 /dev/urandom > "$card/A001R2EC/A001C001_231014_R2EC.mov"
cp "$CLIP" "$card/A001R2EC/A001C002_231014_R2EC.mov"
printf 'card info\n' > "$card/SDINFO.TXT"

step "inspect recognises the card (card rules read through importlib.resources)"
dw inspect "$card" --json > inspect.json || fail "inspect exited $?"
python3 - inspect.json <<'PY' || fail "inspect: $(cat inspect.json)"
import json, sys
card = json.loads(open(sys.argv[1]).readline())
assert card["vendor"] == "ARRI" and card["reel"] == "A001" and card["clip_count"] == 2, card
PY

step "offload to two destinations"
rc=0
dw offload "$card" "$WORK/drive1" "$WORK/drive2" --json > offload.jsonl || rc=$?
[ "$rc" = 0 ] || fail "offload exited $rc: $(tail -3 offload.jsonl)"
id=$(python3 - offload.jsonl <<'PY'
import json, sys
done = [e for e in map(json.loads, open(sys.argv[1])) if e.get("event") == "done"][-1]
assert done["state"] == "verified" and done["files_verified"] == 3, done
print(done["offload_id"])
PY
) || fail "offload did not end verified: $(tail -1 offload.jsonl)"
for d in drive1 drive2; do
  cmp -s "$card/A001R2EC/A001C001_231014_R2EC.mov" "$WORK/$d/A001R2EC/A001R2EC/A001C001_231014_R2EC.mov" \
    || fail "the copy on $d differs from the card"
  ls "$WORK/$d/A001R2EC/ascmhl/"*.mhl >/dev/null 2>&1 || fail "no ASC MHL on $d"
done

step "the clips were read with the bundled FFmpeg (PyAV) from a verified copy"
dw clips "$id" --json > clips.json || true  # exit 1: the random-byte clip is rightly possibly damaged
python3 - clips.json <<'PY' || fail "clips: $(cat clips.json)"
import json, sys
clips = {c["name"]: c for c in json.loads(open(sys.argv[1]).readline())["clips"]}
real = clips["A001C002_231014_R2EC"]
assert real["state"] == "read" and real["codec"] == "ProRes 422 Proxy" and real["tc_in"] == "10:00:00:00", real
assert real["frames"] == 6 and real["fps"] == "24000/1001" and real["thumbnails"], real
assert clips["A001C001_231014_R2EC"]["state"] == "possibly damaged", clips
PY

step "report offload $id to PDF, HTML and CSV (Qt offscreen, templates through importlib.resources)"
dw report offload "$id" --files --pdf report.pdf --html report.html --csv report.csv > /dev/null \
  || fail "report exited $?"
[ "$(head -c 5 report.pdf)" = "%PDF-" ] || fail "report.pdf is not a PDF"
pdftotext report.pdf report.txt
grep -q "Offload report" report.txt || fail "the PDF has no title: $(head -5 report.txt)"
grep -q "A001" report.txt || fail "the PDF does not name the card A001"
grep -qi "verified" report.txt || fail "the PDF does not say verified"
grep -q "A001C001_231014_R2EC" report.csv || fail "the CSV lacks the clip"

step "history and status read the catalog"
dw history --json > /dev/null || fail "history exited $?"
rc=0; dw status A001 --json > /dev/null || rc=$?
# 1 is the right answer: both destinations are folders of one drive here, which count as one copy
[ "$rc" = 1 ] || fail "status exited $rc, expected 1 (not safe: one physical drive)"

bundle=$(dirname "$BIN")
if [ -x "$bundle/install.sh" ]; then
  step "install.sh into a scratch prefix; the command runs through its link"
  PREFIX="$WORK/prefix" "$bundle/install.sh" > /dev/null || fail "install.sh exited $?"
  [ "$("$WORK/prefix/bin/datawrangler" --version)" = "$NAME $VERSION" ] || fail "the installed command does not run"
  [ -f "$WORK/prefix/share/applications/datawrangler.desktop" ] || fail "no desktop entry installed"
  [ -f "$WORK/prefix/share/icons/hicolor/256x256/apps/datawrangler.png" ] || fail "no icon installed"
  PREFIX="$WORK/prefix" "$WORK/prefix/lib/datawrangler/install.sh" --uninstall > /dev/null || fail "uninstall exited $?"
  [ ! -e "$WORK/prefix/bin/datawrangler" ] || fail "uninstall left the command"
fi

if dw --help | grep -qE '^\s+gui\b|[{,]gui[,}]'; then
  step "the window starts (offscreen, closed after 8 s)"
  rc=0; timeout 8 "$BIN" gui > gui.log 2>&1 || rc=$?
  [ "$rc" = 124 ] || fail "the window exited $rc within 8 s: $(tail -20 gui.log)"
  ! grep -q Traceback gui.log || fail "the window raised: $(cat gui.log)"
  step "the window offloads a demo card in its worker process (the frozen executable respawned)"
  rc=0; timeout 180 "$BIN" demo --size 20 --start --quit-when-done > demo.log 2>&1 || rc=$?
  [ "$rc" = 0 ] || fail "the demo offload exited $rc: $(tail -20 demo.log)"
  grep -q "all verified" demo.log || fail "the demo offload did not verify: $(tail -20 demo.log)"
  ! grep -q Traceback demo.log || fail "the demo offload raised: $(cat demo.log)"
else
  step "no gui command in this build: window not tried"
fi

echo "smoke test passed: $BIN ($NAME $VERSION)"
