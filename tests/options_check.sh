#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/options_check.sh: the documents name every option of the table (src/core/option_table.c),
# as `amexbpf --dump-options` prints it:
#   - the man page (src/dist/amexbpf.8): an entry (.B/.BI/.BR line) for each flag, whose
#     paragraph gives the flag's default when it has one;
#   - the example config (src/dist/amexbpf.conf): a "key = value" line (commented out or
#     not) for each key, showing the default when the key has one;
#   - README.md's option table: a row whose first cell names `--flag`, and whose second
#     cell gives the default.
# One line per gap; exit 1 when there is any. `make test` runs it as the test "options".
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

man=src/dist/amexbpf.8
conf=src/dist/amexbpf.conf
readme=README.md

[ -x ./amexbpf ] || { echo "options: ./amexbpf is not built (run make)"; exit 1; }
table=$(./amexbpf --dump-options) || { echo "options: amexbpf --dump-options failed"; exit 1; }
[ -n "$table" ] || { echo "options: the option table is empty"; exit 1; }

status=0
gap() {
	echo "options: $*"
	status=1
}

# The man page's paragraph of a flag, roff escapes undone: from its .B/.BI/.BR line to the
# next .TP/.SH/.PP.
man_entry() {
	local flag=$1
	awk -v flag="$flag" '
		function plain(s) { gsub(/\\-/, "-", s); gsub(/\\f[BIRP]/, "", s); gsub(/"/, "", s); return s }
		/^\.(TP|SH|PP)/ { if (inside) exit; next }
		/^\.B[IR]? / {
			line = plain($0)
			n = split(line, w, /[ ,]+/)
			for (i = 2; i <= n; i++) if (w[i] == flag) { inside = 1; break }
		}
		inside { print plain($0) }' "$man"
}

# README's rows: "first cell<TAB>second cell", backticks kept in the first, dropped in the second.
readme_rows=$(awk -F'|' '/^\| `--/ { d = $3; gsub(/`/, "", d); print $2 "\t" d }' "$readme")

n_flags=0
n_keys=0
while IFS=$'\t' read -r section flag key def metavar; do
	if [ "$flag" != - ]; then
		n_flags=$((n_flags + 1))
		entry=$(man_entry "$flag")
		if [ -z "$entry" ]; then
			gap "$man has no entry for $flag"
		elif [ "$def" != - ] && [ "$metavar" != - ] && ! grep -qF -- "default $def" <<<"$entry"; then
			gap "$man: the entry of $flag does not say \"default $def\""
		fi
		row=$(awk -F'\t' -v f="\`$flag" 'index($1, f " ") || index($1, f "`") { print; exit }' <<<"$readme_rows")
		if [ -z "$row" ]; then
			gap "$readme's option table has no row for $flag"
		elif [ "$def" != - ] && [ "$metavar" != - ] && ! grep -qF -- "$def" <<<"${row#*$'\t'}"; then
			gap "$readme: the row of $flag does not give its default $def"
		fi
	fi
	if [ "$key" != - ]; then
		n_keys=$((n_keys + 1))
		# "key = value", "; key = value" or ";key = value"; _ and - alike
		pattern="^[;#]? *$(sed 's/[-_]/[-_]/g' <<<"$key") *="
		if ! grep -qE -- "$pattern" "$conf"; then
			gap "$conf has no line for the key $key ([$section])"
		elif [ "$section" = amexbpf ] && [ "$def" != - ] &&
			! grep -E -- "$pattern" "$conf" | grep -qE -- "= *$def\$"; then
			gap "$conf: the key $key is not shown with its default $def"
		fi
	fi
done <<<"$table"

[ "$status" -eq 0 ] && echo "options: $n_flags flags and $n_keys config keys, each in $man, $conf and $readme"
exit $status
