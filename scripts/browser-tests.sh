#!/usr/bin/env bash
# The browser tests of the web page (tests/browser/run.mjs): installs what they need when it is
# missing (Debian's chromium, playwright-core from npm, as pinned in package-lock.json), builds
# the binaries, and runs them. Used by .ci/run; run it by hand the same way. The binaries are
# taken from cargo's target directory wherever it is (CARGO_TARGET_DIR, or target/ by default).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null; then
    apt-get update -qq && apt-get install -y -qq chromium >/dev/null
fi
if ! command -v node >/dev/null; then
    apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null
fi
(cd tests/browser && npm ci --no-audit --no-fund --silent)
cargo build --locked --bins --quiet
target_dir="$(cargo metadata --format-version 1 --no-deps --locked |
    node -e 'let s = ""; process.stdin.on("data", (d) => { s += d; }).on("end", () => console.log(JSON.parse(s).target_directory))')"
CHAT_BIN="${CHAT_BIN:-$target_dir/debug}" node tests/browser/run.mjs
