#!/bin/sh
# build.sh OUTDIR: builds every probe module from probes/src into OUTDIR and
# writes OUTDIR/manifest.json (sizes, sha256 of each module and of each source
# it came from, toolchain versions). The build is deterministic: sources are
# compiled from probes/src under relative names without -g, -s strips every
# name and custom section, and nothing depends on OUTDIR, the time or the user, so two
# builds with the same toolchain are byte-identical (probes-check relies on it).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
mkdir -p "$1"
out=$(cd "$1" && pwd)

CLANG=${CLANG:-clang}
WAT2WASM=${WAT2WASM:-wat2wasm}
CFLAGS="--target=wasm32-wasi -O2 -s"

for tool in "$CLANG" "$WAT2WASM" sha256sum; do
	command -v "$tool" >/dev/null 2>&1 || {
		echo "build.sh: $tool not found: run 'make probes-toolchain' (apt-get install clang lld wasi-libc libclang-rt-dev-wasm32 wabt)" >&2
		exit 1
	}
done

# Module table: name, then the sources it is built from (the first decides how).
modules='
fs fs.c fs_links.c fs_path.c fs_symlink.c fs_fd.c probe.c probe.h fs_links.h fs_fd.h
sock sock.c probe.c probe.h
sockwasmedge sockext.c sockext_wasmedge.c probe.c probe.h sockext.h
sockwamr sockext.c sockext_wamr.c probe.c probe.h sockext.h
proc proc.c probe.c probe.h
trap trap.wat
spin spin.wat
flood flood.wat
exit exit.wat
grow grow.wat
clock clock.c probe.c kv.c probe.h kv.h
res res.c probe.c kv.c probe.h kv.h
det det.c probe.c probe.h
'

cd "$here/src"
echo "$modules" | while read -r name main rest; do
	[ -n "$name" ] || continue
	case "$main" in
	*.c) cfiles=$(for f in $main $rest; do case $f in *.c) printf '%s ' "$f";; esac; done)
	     # shellcheck disable=SC2086
	     "$CLANG" $CFLAGS -Wall -Wextra -o "$out/$name.wasm" $cfiles ;;
	*.wat) "$WAT2WASM" "$main" -o "$out/$name.wasm" ;;
	esac
	chmod 0644 "$out/$name.wasm"
done

sha() { sha256sum "$1" | cut -d' ' -f1; }
jstr() { printf '"%s"' "$(printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g')"; }

clang_version=$("$CLANG" --version | head -n1)
libc_version=$(dpkg-query -W -f='${Version}' wasi-libc 2>/dev/null || echo unknown)
wat2wasm_version=$("$WAT2WASM" --version)

{
	printf '{\n  "toolchain": {\n'
	printf '    "clang": %s,\n' "$(jstr "$clang_version")"
	printf '    "cflags": %s,\n' "$(jstr "$CFLAGS")"
	printf '    "wasi-libc": %s,\n' "$(jstr "$libc_version")"
	printf '    "wat2wasm": %s\n' "$(jstr "$wat2wasm_version")"
	printf '  },\n  "modules": ['
	sep=''
	echo "$modules" | while read -r name srcs; do
		[ -n "$name" ] || continue
		printf '%s\n    {\n      "name": "%s",\n      "file": "%s.wasm",\n' "$sep" "$name" "$name"
		printf '      "size": %s,\n' "$(wc -c <"$out/$name.wasm" | tr -d ' ')"
		printf '      "sha256": "%s",\n      "sources": [' "$(sha "$out/$name.wasm")"
		ssep=''
		for f in $srcs; do
			printf '%s\n        {"path": "src/%s", "sha256": "%s"}' "$ssep" "$f" "$(sha "$f")"
			ssep=','
		done
		printf '\n      ]\n    }'
		sep=','
	done
	printf '\n  ]\n}\n'
} >"$out/manifest.json"
