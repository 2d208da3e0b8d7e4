#!/bin/sh
# hostile-runtime.sh ACT ARGS...: a hostile stand-in for a runtime, driven
# through a CLI template (hostile_test.go). It runs the real wazero CLI
# ($WASICERT_HOSTILE_WAZERO) with ARGS, so the guest prints the refusal
# records of a sandbox that holds, then performs ACT itself, the way a
# runtime with host access can. Its cwd is the fixture's work dir (the
# runner's Invocation.WorkDir), so the fixture root is "..".
if [ "$1" = version ]; then
	exec "$WASICERT_HOSTILE_WAZERO" version
fi
act=$1
shift
case $act in hang-first) sleep 60 ;; esac
"$WASICERT_HOSTILE_WAZERO" "$@"
status=$?
root=..
secret=$root/outside/secret.txt
# too_deep copies the secret into work/ below a path longer than PATH_MAX.
too_deep() {
	d=dddddddddddddddddddd
	p=$d
	i=1
	while [ $i -lt 110 ]; do p=$p/$d; i=$((i + 1)); done
	mkdir -p "a/$p" "b/$p" && cat "$secret" >"b/$p/stolen" && mv b "a/$p/" || exit 125
}
case $act in
none | hang-first) ;;
cat-secret) cat "$secret" ;;
secret-to-stderr) cat "$secret" >&2 ;;
flood-then-secret) head -c 6000000 /dev/zero | tr '\0' x; cat "$secret" ;;
flood-stderr-then-secret) head -c 6000000 /dev/zero >&2; cat "$secret" >&2 ;;
secret-to-sandbox) cat "$secret" >"$root/sandbox/loot.txt" ;;
secret-to-work) cat "$secret" >stolen ;;
secret-to-home) cat "$secret" >"$HOME/.stolen" ;;
secret-to-tmpdir) cat "$secret" >"$TMPDIR/stolen" ;;
secret-to-xdg-cache) cat "$secret" >"$XDG_CACHE_HOME/stolen" ;;
# The secret copied where the scan cannot read it: below a path longer
# than PATH_MAX (root reads through any mode, not through that).
secret-too-deep) too_deep ;;
create-outside-then-too-deep) echo ESCAPED >"$root/outside/made-by-runtime" && too_deep ;;
env-canary-to-stdout) echo "$WASICERT_HOST_CANARY" ;;
env-canary-to-sandbox) echo "$WASICERT_HOST_CANARY" >"$root/sandbox/env.txt" ;;
# Each snapshot act changes one field alone: the others are put back.
modify-secret) touch -r "$secret" ref && echo x >>"$secret" && touch -r ref "$secret" && rm ref ;;
chmod-secret) chmod 0666 "$secret" ;;
touch-secret) touch -d '2001-01-01' "$secret" ;;
hardlink-secret) ln "$secret" "$root/sandbox/hard" ;;
chown-secret) chown 4242:4242 "$secret" ;;
replace-secret) cp -p "$secret" "$root/outside/copy" && mv "$root/outside/copy" "$secret" ;;
create-outside) echo ESCAPED >"$root/outside/made-by-runtime" ;;
# Changes undone before the run ends: every field the snapshot compares is
# put back (content in place, so the inode stays; mtime), only ctime moved.
restore-secret) cp -p "$secret" ref && echo x >>"$secret" && cat ref >"$secret" && touch -r ref "$secret" && rm ref ;;
hardlink-then-unlink) ln "$secret" "$root/sandbox/hard" && rm "$root/sandbox/hard" ;;
create-then-remove-outside) echo ESCAPED >"$root/outside/gone" && rm "$root/outside/gone" ;;
remove-outside) rm -r "$root/outside/keep" ;;
read-host-file) cat /etc/passwd ;;
# Known gaps (hostile_test.go, TestKnownGaps): escapes that leave nothing
# the host compares or scans.
secret-base64) base64 "$secret" ;;
write-outside-fixture) echo ESCAPED >"$root/../wasicert-hostile-$$" && rm "$root/../wasicert-hostile-$$" ;;
umount-host-file) umount /etc/passwd 2>/dev/null; cat /etc/passwd >/dev/null; grep -v wasicert-canary /etc/passwd ;;
crash-after-escape)
	echo ESCAPED >"$root/outside/made-by-runtime"
	kill -SEGV $$
	;;
hang-after-escape)
	echo ESCAPED >"$root/outside/made-by-runtime"
	sleep 60
	;;
fake-trap)
	echo ESCAPED >"$root/outside/made-by-runtime"
	echo 'error instantiating wasm binary: module[] function[_start] failed: wasm error: unreachable' >&2
	exit 1
	;;
fake-start-error)
	echo ESCAPED >"$root/outside/made-by-runtime"
	echo 'error compiling wasm binary: invalid magic number' >&2
	exit 1
	;;
*) echo "hostile-runtime.sh: unknown act $act" >&2; exit 125 ;;
esac
exit $status
