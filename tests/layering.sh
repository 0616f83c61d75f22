#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/layering.sh: the folders of src/ are layers, and dependencies point one way:
#   cli -> daemon -> {sources, report} -> sys -> core;  top -> sys -> core
# (core includes nothing else of the project but the BPF event ABI, bpf/amexbpf.h).
# Checked on what the linker sees, the built objects (.output/obj/<layer>/<module>.o):
#   1. no object takes a symbol defined in a layer its own may not use;
#   2. no two modules take symbols from each other in a circle (a -> b -> ... -> a);
# and on the sources: no #include of a header from a layer the file's own may not use.
# One line per violation; exit 1 when there is any. `make test` runs it as the test "layering".
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

obj=.output/obj
[ -d "$obj" ] || { echo "layering: $obj is not built (run make)"; exit 1; }

# allowed LAYER: the layers LAYER may take symbols (and headers) from.
allowed() {
	case $1 in
	core) echo "core" ;;
	sys) echo "sys core" ;;
	sources) echo "sources sys core" ;;
	report) echo "report sys core" ;;
	daemon) echo "daemon sources report sys core" ;;
	top) echo "top sys core" ;;
	cli) echo "cli top daemon sources report sys core" ;;
	*) echo "" ;;
	esac
}

status=0
# Objects of sources that exist (an object left by a file moved since is not the code).
objects=$(find "$obj" -mindepth 2 -maxdepth 2 -name '*.o' | sort | while read -r o; do
	m=${o#"$obj"/}
	[ -f "src/${m%.o}.c" ] && echo "$o"
done)
[ -n "$objects" ] || { echo "layering: no objects under $obj"; exit 1; }

# "module symbol" for each defined and each undefined global symbol; a module is layer/file.
defs=$(for o in $objects; do
	m=${o#"$obj"/}
	nm -g --defined-only "$o" | awk -v m="${m%.o}" 'NF == 3 { print m, $3 }'
done)
uses=$(for o in $objects; do
	m=${o#"$obj"/}
	nm -u "$o" | awk -v m="${m%.o}" '{ print m, $NF }'
done)
# "user provider" edges between modules, once each.
edges=$(awk 'NR == FNR { def[$2] = $1; next } ($2 in def) && def[$2] != $1 { print $1, def[$2], $2 }' \
	<(echo "$defs") <(echo "$uses") | sort -u -k1,2)

# 1. Layer rule, one line per (module, provider) pair with one symbol as the example.
while read -r user provider symbol; do
	[ -n "$user" ] || continue
	ul=${user%%/*}
	pl=${provider%%/*}
	case " $(allowed "$ul") " in
	*" $pl "*) ;;
	*)
		echo "layering: $user ($ul) takes $symbol from $provider ($pl); $ul may use: $(allowed "$ul")"
		status=1
		;;
	esac
done <<<"$edges"

# 2. Circles: the transitive closure of the module graph; a module that reaches itself is
# on a circle, printed once per pair.
cycles=$(echo "$edges" | awk '
	NF >= 2 { if (!($1 in id)) { id[$1] = n; name[n++] = $1 } if (!($2 in id)) { id[$2] = n; name[n++] = $2 }
	          r[id[$1], id[$2]] = 1 }
	END {
		for (k = 0; k < n; k++) for (i = 0; i < n; i++) if (r[i, k]) for (j = 0; j < n; j++) if (r[k, j]) r[i, j] = 1
		for (i = 0; i < n; i++) for (j = i + 1; j < n; j++) if (r[i, j] && r[j, i]) print name[i] " <-> " name[j]
	}')
if [ -n "$cycles" ]; then
	while read -r line; do echo "layering: modules in a circle: $line"; done <<<"$cycles"
	status=1
fi

# 3. Includes: "layer/header.h" from a layer the file may not use.
while IFS=: read -r file _ inc; do
	fl=${file#src/}
	fl=${fl%%/*}
	il=$(sed -n 's/.*#include "\([a-z]*\)\/.*/\1/p' <<<"$inc")
	[ "$il" = bpf ] && continue
	case " $(allowed "$fl") " in
	*" $il "*) ;;
	*)
		echo "layering: $file includes $(sed 's/.*#include //' <<<"$inc") ($il); $fl may use: $(allowed "$fl")"
		status=1
		;;
	esac
done < <(grep -rn '#include "[a-z]*/' src --include='*.c' --include='*.h')

# A file directly under src/ would belong to no layer.
for f in src/*.c src/*.h; do
	[ -e "$f" ] || continue
	echo "layering: $f is in no layer (move it into src/<layer>/)"
	status=1
done

n_mod=$(echo "$objects" | wc -l)
n_edges=$(echo "$edges" | awk 'NF' | wc -l)
[ "$status" -eq 0 ] && echo "layering: $n_mod modules, $n_edges dependencies, all pointing down, no circle"
exit $status
