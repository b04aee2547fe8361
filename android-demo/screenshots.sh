#!/usr/bin/env bash
# Regenerates the demo screenshots (android-demo/screenshots/, copied to ios-demo/screenshots/):
# the desktop window over the demo's view models, driven through every screen against an
# authority on loopback, under Xvfb. Needs what bindings/test.sh needs, plus Debian's xvfb
# and fonts-noto-cjk for the Chinese text: `apt-get install -y xvfb fonts-noto-cjk`.
set -euo pipefail
exec "$(dirname "$0")/../bindings/test.sh" screenshots
