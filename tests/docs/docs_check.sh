#!/bin/sh
# Keeps the docs from drifting away from the code:
# 1. docs/architecture.svg is what graphviz makes of docs/architecture.dot;
# 2. every problem message `check` and `status` can print (loader/check.cpp,
#    loader/preflight.cpp, loader/status.cpp, nft/inspect.cpp) is quoted in
#    docs/troubleshooting.md;
# 3. README's quick start is under ten lines and names only subcommands the
#    binary has;
# 4. every relative link in README.md and docs/*.md points at a file.
# usage: docs_check.sh SOURCE_DIR IPSEC_STEER_BINARY
set -eu
src=$1 bin=$2
failed=0
fail() { echo "docs_check: $*" >&2; failed=1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# 1. The diagram. graphviz is a build dependency (tools/install-deps.sh).
if command -v dot >/dev/null; then
	dot -Tsvg "$src/docs/architecture.dot" -o "$tmp/architecture.svg"
	cmp -s "$tmp/architecture.svg" "$src/docs/architecture.svg" ||
		fail "docs/architecture.svg is stale: run 'make docs' and commit it"
elif [ "${CI:-}" = true ]; then
	fail "graphviz (dot) is missing: install it (tools/install-deps.sh)"
else
	echo "docs_check: skipping the diagram check: graphviz (dot) is not installed"
fi

# 2. Problem messages. The first string literal of each problem is the
# message's fixed text; literals joined with '+' are checked piece by piece
# (names like the gateway's are filled in at run time).
messages() {
	grep -h -o -E '(out\.push_back\(\{|need\(s, [^,]+, |f\.problem = |Problem\{)"[^"]*"( \+ [^"]*"[^"]*")*' "$@" |
		sed -E 's/^[^"]*//' | tr '+' '\n' | grep -o -E '"[^"]*"' | tr -d '"' |
		sed -E 's/^[ (]+//; s/[ :]+$//' | awk 'length($0) >= 8'
}
files=""
for f in loader/check.cpp loader/preflight.cpp loader/status.cpp nft/inspect.cpp; do
	[ -f "$src/$f" ] && files="$files $src/$f"
done
# shellcheck disable=SC2086
messages $files > "$tmp/messages"
[ -s "$tmp/messages" ] || fail "found no problem messages in$files (did the code change shape?)"
# Line breaks and indentation of the page do not matter.
tr -s ' \n' '  ' < "$src/docs/troubleshooting.md" > "$tmp/troubleshooting"
while IFS= read -r m; do
	grep -q -F -- "$m" "$tmp/troubleshooting" ||
		fail "docs/troubleshooting.md does not mention the message: $m"
done < "$tmp/messages"

# 3. The quick start: the first fenced block after '## Quick start'.
awk '/^## Quick start/ {q = 1; next} q && /^```/ {if (in_block) exit; in_block = 1; next}
	in_block {print}' "$src/README.md" > "$tmp/quickstart"
lines=$(grep -c . "$tmp/quickstart" || true)
[ "$lines" -ge 1 ] && [ "$lines" -lt 10 ] || fail "README quick start has $lines lines (want 1-9)"
subcommands=$("$bin" --help | awk '/^Subcommands:/ {s = 1; next} s && NF {print $1}')
# Commands in code blocks and in backquotes (prose may say "ipsec-steer runs").
used_in_readme() {
	awk '/^```/ {f = !f; next} f' "$src/README.md" | grep -o -E '^ipsec-steer [a-z]+' || true
	grep -o -E '`ipsec-steer [a-z]+' "$src/README.md" | tr -d '`' || true
}
for used in $(used_in_readme | awk '{print $2}' | sort -u); do
	echo "$subcommands" | grep -q -x -- "$used" || fail "README uses 'ipsec-steer $used', which is no subcommand"
done

# 4. Relative links.
for doc in "$src"/README.md "$src"/docs/*.md; do
	dir=$(dirname "$doc")
	for link in $(grep -o -E '\]\([^)#:]+[)#]' "$doc" | sed -E 's/^\]\(//; s/[)#]$//'); do
		[ -e "$dir/$link" ] || fail "$(basename "$doc"): broken link $link"
	done
done

[ "$failed" = 0 ] && echo "docs_check: $(wc -l < "$tmp/messages") messages documented, diagram, quick start ($lines lines) and links ok"
exit "$failed"
