#!/usr/bin/env sh
# Install the DataWrangler bundle this script sits in (it is copied into dist/datawrangler/ by
# packaging/build_linux.sh and ships in the release tarball):
#
#     ./install.sh                    # for you: ~/.local (bin, share/applications, share/icons)
#     sudo PREFIX=/usr/local ./install.sh
#     ./install.sh --uninstall        # same PREFIX as the install
#
# The bundle folder is copied to PREFIX/lib/datawrangler, PREFIX/bin/datawrangler links to its
# executable, and the desktop entry and the hicolor icons go where the desktop looks for them.
set -eu
PREFIX=${PREFIX:-$HOME/.local}
HERE=$(cd "$(dirname "$0")" && pwd)
APP="$PREFIX/lib/datawrangler"
SIZES="16 22 24 32 48 64 128 256 512"

refresh() {
  command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q "$PREFIX/share/applications" || true
  command -v gtk-update-icon-cache >/dev/null 2>&1 && gtk-update-icon-cache -q -t "$PREFIX/share/icons/hicolor" || true
}

if [ "${1:-}" = "--uninstall" ]; then
  rm -rf "$APP"
  rm -f "$PREFIX/bin/datawrangler" "$PREFIX/share/applications/datawrangler.desktop"
  for n in $SIZES; do rm -f "$PREFIX/share/icons/hicolor/${n}x${n}/apps/datawrangler.png"; done
  refresh
  echo "DataWrangler removed from $PREFIX"
  exit 0
fi

[ -x "$HERE/datawrangler" ] && [ -d "$HERE/_internal" ] || { echo "run install.sh from the bundle folder" >&2; exit 2; }
if [ "$HERE" != "$APP" ]; then
  rm -rf "$APP.new"
  mkdir -p "$PREFIX/lib"
  cp -a "$HERE" "$APP.new"
  rm -rf "$APP"
  mv "$APP.new" "$APP"
fi
mkdir -p "$PREFIX/bin" "$PREFIX/share/applications"
ln -sfn "$APP/datawrangler" "$PREFIX/bin/datawrangler"
# the entry names the command; an install outside PATH gets the full path instead
case ":$PATH:" in
  *":$PREFIX/bin:"*) cp "$HERE/share/applications/datawrangler.desktop" "$PREFIX/share/applications/" ;;
  *) sed "s|^Exec=datawrangler|Exec=$PREFIX/bin/datawrangler|; s|^TryExec=datawrangler|TryExec=$PREFIX/bin/datawrangler|" \
       "$HERE/share/applications/datawrangler.desktop" > "$PREFIX/share/applications/datawrangler.desktop" ;;
esac
for n in $SIZES; do
  mkdir -p "$PREFIX/share/icons/hicolor/${n}x${n}/apps"
  cp "$HERE/share/icons/hicolor/${n}x${n}/apps/datawrangler.png" "$PREFIX/share/icons/hicolor/${n}x${n}/apps/"
done
refresh
echo "DataWrangler $("$APP/datawrangler" --version | cut -d' ' -f2) installed in $APP; command: $PREFIX/bin/datawrangler"
