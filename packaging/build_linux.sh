#!/usr/bin/env bash
# Build the Linux one-folder bundle (dist/datawrangler/) and its tarball in a venv of their own, then
# smoke-test the bundle.
#
#     packaging/build_linux.sh            # build + smoke test
#     packaging/build_linux.sh --no-test  # build only
#
# The venv (build/bundle-venv) gets the project from this folder as a regular, non-editable install, as a
# user's would be, plus PyInstaller; the project's own .venv is never touched. PYTHON picks the
# interpreter (default python3; PyInstaller needs its shared libpython, which distribution and pyenv
# builds have). Build on the oldest distribution you support: the bundle needs that glibc or newer.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=build/bundle-venv
PYINSTALLER_SPEC=${PYINSTALLER_SPEC:-"pyinstaller>=6.10,<7"}
start=$SECONDS

[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
# setuptools builds in build/lib and keeps whatever an older build left there: start it clean so a module
# deleted from the source cannot ride along into the bundle.
rm -rf build/lib build/bdist.*
"$VENV/bin/python" -m pip install -q . "$PYINSTALLER_SPEC"
"$VENV/bin/python" -m pip install -q --force-reinstall --no-deps .  # this tree, even at an unchanged version

rm -rf dist/datawrangler
"$VENV/bin/pyinstaller" packaging/datawrangler.spec --noconfirm --log-level WARN \
  --distpath dist --workpath build/pyinstaller

# Beside the executable: the desktop entry, the icons and the installer (packaging/linux/install.sh).
out=dist/datawrangler
install -Dm644 packaging/linux/datawrangler.desktop "$out/share/applications/datawrangler.desktop"
for n in 16 22 24 32 48 64 128 256 512; do
  install -Dm644 "packaging/icons/datawrangler-$n.png" "$out/share/icons/hicolor/${n}x${n}/apps/datawrangler.png"
done
install -m755 packaging/linux/install.sh "$out/install.sh"

read -r name version < <("$VENV/bin/python" packaging/project_meta.py)
tarball="dist/$name-$version-linux-$(uname -m).tar.gz"
tar -C dist -czf "$tarball" datawrangler
echo "bundle: $out ($(du -sh "$out" | cut -f1)), $tarball ($(du -h "$tarball" | cut -f1)), built in $((SECONDS - start)) s"

if [ "${1:-}" != "--no-test" ]; then
  packaging/smoke_test.sh "$out/datawrangler"
fi
