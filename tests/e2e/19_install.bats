#!/usr/bin/env bats
# make install / make uninstall with DESTDIR and PREFIX: the binary, the man
# pages (man1, and man7 when there are any) and the three completions land where the system looks for them, work
# from there, and uninstall leaves no file behind.  No engine is needed.

load helpers

setup_file() {
	export TOP DEST
	TOP=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
	DEST="$BATS_FILE_TMPDIR/dest"
	mkdir -p "$DEST"
	# The checkout's own build: make install depends on build/cpactl.
	make -s -C "$TOP" install DESTDIR="$DEST" PREFIX=/usr >"$BATS_FILE_TMPDIR/install.log" 2>&1 ||
		{ cat "$BATS_FILE_TMPDIR/install.log" >&2; return 1; }
}

@test "install puts the binary, the man pages and the completions in the standard places" {
	[ -x "$DEST/usr/bin/cpactl" ]
	[ "$(stat -c %a "$DEST/usr/bin/cpactl")" = 755 ]
	local page section
	for page in "$TOP"/man/*.[17]; do
		section=man${page##*.}
		[ -f "$DEST/usr/share/man/$section/$(basename "$page")" ] || { echo "missing $(basename "$page")"; false; }
		[ "$(stat -c %a "$DEST/usr/share/man/$section/$(basename "$page")")" = 644 ]
	done
	[ -f "$DEST/usr/share/bash-completion/completions/cpactl" ]
	[ -f "$DEST/usr/share/zsh/vendor-completions/_cpactl" ]
	[ -f "$DEST/usr/share/fish/vendor_completions.d/cpactl.fish" ]
	# Nothing else, nowhere else.
	run bash -c "cd '$DEST' && find . -type f | sort"
	local want
	want=$( (cd "$TOP/man" && ls ./*.[17] | sed -E 's|^\./(.*)\.([17])$|./usr/share/man/man\2/\1.\2|')
		printf '%s\n' ./usr/bin/cpactl ./usr/share/bash-completion/completions/cpactl \
			./usr/share/zsh/vendor-completions/_cpactl ./usr/share/fish/vendor_completions.d/cpactl.fish)
	[ "$output" = "$(printf '%s\n' "$want" | sort)" ] || { echo "installed: $output"; echo "expected: $want"; false; }
}

@test "the installed binary runs: --version, --help" {
	run "$DEST/usr/bin/cpactl" --version
	[ "$status" -eq 0 ]
	[[ $output == "cpactl "[0-9]* ]]
	run "$DEST/usr/bin/cpactl" --help
	[ "$status" -eq 0 ]
	[[ $output == *"verbs:"* ]]
	[[ $output == *"global options:"* ]]
}

@test "the installed man pages render" {
	# Bold and underline are overstruck (c BS c): strip them to read the text.
	run bash -c "mandoc -Tutf8 '$DEST/usr/share/man/man1/cpactl.1' | sed 's/.\x08//g'"
	[ "$status" -eq 0 ]
	[[ $output == *"cpactl"* && $output == *"EXIT STATUS"* ]] || { echo "$output" | head; false; }
	if command -v groff >/dev/null || command -v nroff >/dev/null; then
		run bash -c "MANPAGER=cat man -l '$DEST/usr/share/man/man1/cpactl-backup.1' 2>&1 | sed 's/.\x08//g'"
		[ "$status" -eq 0 ]
		[[ $output == *"cpactl backup"* ]] || { echo "$output" | head; false; }
	fi
	# Every page: mandoc -Tlint clean from its installed place too.
	run bash -c "mandoc -Tlint '$DEST'/usr/share/man/man1/*.1 2>&1"
	[ -z "$output" ] || { echo "$output"; false; }
}

@test "the installed completions load and complete a verb in bash, zsh and fish" {
	local c=$BATS_TEST_DIRNAME/../completion/complete.sh
	run env COMPLETION_FILE="$DEST/usr/share/bash-completion/completions/cpactl" bash "$c" bash "cpactl upg"
	[ "$status" -eq 0 ] && [ "$output" = upgrade ] || { echo "bash: $output"; false; }
	run env COMPLETION_FILE="$DEST/usr/share/fish/vendor_completions.d/cpactl.fish" bash "$c" fish "cpactl upg"
	[ "$status" -eq 0 ] && [ "$output" = upgrade ] || { echo "fish: $output"; false; }
	run env COMPLETION_FILE="$DEST/usr/share/zsh/vendor-completions/_cpactl" bash "$c" zsh "cpactl upg"
	[ "$status" -eq 0 ] && [ "$output" = upgrade ] || { echo "zsh: $output"; false; }
	# bash-completion loads the file by the command's name and expects `complete -F`.
	grep -q '^complete -F _cpactl cpactl$' "$DEST/usr/share/bash-completion/completions/cpactl"
}

@test "uninstall removes every installed file" {
	run make -s -C "$TOP" uninstall DESTDIR="$DEST" PREFIX=/usr
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	run find "$DEST" -type f
	[ -z "$output" ] || { echo "left: $output"; false; }
	# A second uninstall is harmless.
	run make -s -C "$TOP" uninstall DESTDIR="$DEST" PREFIX=/usr
	[ "$status" -eq 0 ]
}
