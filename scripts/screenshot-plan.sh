#!/usr/bin/env bash
# Screenshot of the printable injection plan (`il1sim plan` → plan.html) with headless
# Chromium, into docs/images/plan.png. Installs Debian's chromium when it is missing (needs
# root, as on the project machines), builds the binary, runs the README's plan command.
#
#   bash scripts/screenshot-plan.sh
set -euo pipefail
cd "$(dirname "$0")/.."

browser=""
for b in chromium chromium-browser; do
    if command -v "$b" >/dev/null 2>&1; then browser="$b"; break; fi
done
if [ -z "$browser" ]; then
    echo "chromium not found: installing Debian's chromium"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core >/dev/null
    browser=chromium
fi

cargo build --release -p il1sim-cli
out="runs/plan-screenshot"
./target/release/il1sim plan patients/ra-adult.toml --start 2027-01-04 --weeks 12 --out "$out"

mkdir -p docs/images
# A fresh profile directory, so that no earlier browser state changes the page.
profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT
"$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars \
    --user-data-dir="$profile" --window-size=1400,1640 \
    --screenshot="$PWD/docs/images/plan.png" "file://$PWD/$out/plan.html" 2>/dev/null
echo "wrote docs/images/plan.png"
