#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/docs_check.sh: the documentation keeps up with the code. Prints one line per problem
# and exits 1 when:
#   - README.md is over 40960 bytes (it is a user's document; the rest lives in docs/);
#   - a file in the repository names a path under ../shared (a folder users do not have);
#   - an event.action that the code can emit is missing from docs/events.md's action table
#     (the actions are those of the event catalogue, src/core/event_catalog.c; fewer than
#     MIN_ACTIONS found means the extraction broke);
#   - a field the code sets on an event (the literal path of each amx_event_set*() call in
#     src/) is not named, in backticks, in docs/events.md (fewer than MIN_FIELDS found
#     means the extraction broke);
#   - a docs/*.md file that README.md names is missing.
# tests/run.sh runs it as the test `docs`.
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1

README_MAX=40960
MIN_ACTIONS=20
MIN_FIELDS=60
CONTRACT=docs/events.md
problems=0

problem() {
	echo "docs: $*"
	problems=$((problems + 1))
}

# README size.
if [ ! -f README.md ]; then
	problem "README.md is missing"
else
	size=$(wc -c <README.md)
	[ "$size" -le "$README_MAX" ] ||
		problem "README.md is $size bytes, over $README_MAX: move detail to docs/"
fi

# No file may point into ../shared. This script names the pattern, so it is left out.
while IFS= read -r hit; do
	problem "$hit: names ../shared, which is not in the repository"
done < <(git ls-files -z | grep -zv '^tests/docs_check\.sh$' |
	xargs -0 -r grep -I -n -F -e '../shared' -- 2>/dev/null | cut -d: -f1,2)

# The actions the code can emit: the event catalogue, src/core/event_catalog.c, one entry
# per action ("[AMX_EVT_X] = { AMX_EVT_X, "action", ..."); amx_event_new takes its enum, so
# no action is spelled anywhere else. (tests/unit/test_event_catalog.c checks the same
# against the compiled table.)
actions_from_code() {
	grep -o 'AMX_EVT_[A-Z0-9_]*, "[^"]*"' src/core/event_catalog.c | sed 's/.*, "//; s/"$//' |
		sort -u
}

# The contract's action table: the body rows "| `name` | ..." of the table under
# "## Actions" (after its delimiter row, so the header is not taken for an action).
actions_in_contract() {
	awk '/^## / { section = ($0 ~ /^## Actions[[:space:]]*$/); body = 0; next }
	     section && /^\|[-|: ]+\|[[:space:]]*$/ { body = 1; next }
	     section && !/^\|/ { body = 0 }
	     section && body && /^\| `[^`]+` \|/ { split($0, cell, "`"); print cell[2] }' \
		"$CONTRACT" | sort -u
}

if [ ! -f "$CONTRACT" ]; then
	problem "$CONTRACT is missing"
else
	code_actions=$(actions_from_code)
	n=$(grep -c . <<<"$code_actions")
	if [ "$n" -lt "$MIN_ACTIONS" ]; then
		problem "found only $n event actions in src/core/event_catalog.c (expected at least $MIN_ACTIONS): the extraction is broken"
	fi
	documented=$(actions_in_contract)
	while IFS= read -r action; do
		[ -n "$action" ] || continue
		grep -qxF -- "$action" <<<"$documented" ||
			problem "event.action '$action' is emitted by src/ but missing from the action table of $CONTRACT"
	done <<<"$code_actions"
	echo "docs: $n event actions in the code, $(grep -c . <<<"$documented") in $CONTRACT's table"
fi

# The fields the code sets: every amx_event_set*(ev, "path", ...) in src/ names its path as a
# literal (src/core/event.c, which defines them, is left out). A field set any other way
# would escape this check, so keep to literals.
fields_from_code() {
	git ls-files -z 'src/*.c' | grep -zv '^src/core/event\.c$' |
		xargs -0 -r grep -hoE 'amx_event_set[a-z_]*\([^,()]+, *"[^"]+"' -- |
		sed -E 's/.*"([^"]+)"$/\1/' | sort -u
}

if [ -f "$CONTRACT" ]; then
	code_fields=$(fields_from_code)
	n=$(grep -c . <<<"$code_fields")
	[ "$n" -ge "$MIN_FIELDS" ] ||
		problem "found only $n event fields in src/ (expected at least $MIN_FIELDS): the extraction is broken"
	while IFS= read -r field; do
		[ -n "$field" ] || continue
		grep -qF -- "\`$field\`" "$CONTRACT" ||
			problem "event field '$field' is set by src/ but not documented in $CONTRACT"
	done <<<"$code_fields"
	echo "docs: $n event fields in the code, each named in $CONTRACT"
fi

# Every docs/*.md the README names must exist.
if [ -f README.md ]; then
	while IFS= read -r doc; do
		[ -f "$doc" ] || problem "README.md names $doc, which does not exist"
	done < <(grep -o 'docs/[A-Za-z0-9._/-]*\.md' README.md | sort -u)
fi

if [ "$problems" -gt 0 ]; then
	echo "docs: $problems problem(s)"
	exit 1
fi
echo "docs: ok"
