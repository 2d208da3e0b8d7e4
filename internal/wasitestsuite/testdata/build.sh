#!/bin/sh
# Compiles the test modules of the suites here from src/*.wat (tests.txt
# lists them) with wabt's wat2wasm, which writes the same bytes for the
# same text: the committed .wasm files are what this makes.
#   usage: build.sh [OUTDIR]    (default: this directory)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
grep -v '^#' "$here/tests.txt" | while read -r test module; do
	[ -n "$test" ] || continue
	[ -f "$tmp/$module.wasm" ] || wat2wasm "$here/src/$module.wat" -o "$tmp/$module.wasm"
	mkdir -p "$out/$(dirname "$test")"
	cp "$tmp/$module.wasm" "$out/$test.wasm"
done
