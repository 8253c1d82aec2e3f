#!/usr/bin/env bash
# Re-makes the README's screenshots: docs/dashboard.png (the served web UI's
# front page) and docs/report.png (the HTML report), from the demo ledger,
# with headless Chromium. Needs chromium and a CJK font (Debian: chromium,
# fonts-noto-cjk). Run from anywhere: docs/screenshots.sh
set -euo pipefail
cd "$(dirname "$0")/.."
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome) \
  || { echo "error: install chromium (Debian: apt-get install chromium fonts-noto-cjk)" >&2; exit 1; }
cargo build --release --quiet
bin=target/release/fundledger
work=$(mktemp -d)
trap 'kill "${server:-}" 2>/dev/null || true; rm -rf "$work"' EXIT
"$bin" demo --dir "$work/demo" >/dev/null
"$bin" report --ledger "$work/demo" --program kunming-2022 --format html --out "$work/report.html"
shot() { # url file height
  "$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$work/profile" \
    --window-size=1100,"$3" --screenshot="$2" "$1" 2>/dev/null
}
shot "file://$work/report.html" docs/report.png 1700
"$bin" serve --ledger "$work/demo" --addr 127.0.0.1:0 > "$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 50); do grep -q listening "$work/serve.log" && break; sleep 0.1; done
url=$(sed -n 's/^listening on //p' "$work/serve.log")
shot "$url/" docs/dashboard.png 1000
shot "$url/programs/kunming-2022" docs/program.png 1700
echo "wrote docs/dashboard.png, docs/program.png and docs/report.png"
