#!/usr/bin/env bash
# fuzz/run.sh MODE BUILD_DIR SECONDS NAME...: run the libFuzzer harnesses
# that `make fuzz-build` put in BUILD_DIR (build/fuzz/).
#
#   fuzz     fuzz each harness for SECONDS (`make fuzz`, FUZZ_SECONDS): seeds
#            from fuzz/corpus/NAME and fuzz/regressions/NAME, new inputs to
#            BUILD_DIR/corpus/NAME, a crashing input to BUILD_DIR/crashes/NAME/
#   regress  run every seed and regression input once (`make fuzz-regress`,
#            for CI: a second or two in all)
#
# One line per harness, then "fuzz: N passed, N failed".
#
# A crash, by hand: reproduce with `BUILD_DIR/NAME FILE`, shrink it with
# `BUILD_DIR/NAME -minimize_crash=1 -runs=100000 -exact_artifact_path=OUT FILE`,
# and keep OUT as fuzz/regressions/NAME/<what-it-is> once the bug is fixed
# (or before, to keep CI red until it is).
set -uo pipefail

if [ $# -lt 4 ] || { [ "$1" != fuzz ] && [ "$1" != regress ]; }; then
	echo "usage: $0 fuzz|regress BUILD_DIR SECONDS NAME..." >&2
	exit 2
fi
mode=$1
dir=$2
seconds=$3
shift 3
src=$(cd -- "$(dirname -- "$0")" && pwd)
passed=0
failed=0

# The longest input worth trying: a little past each parser's own limit
# (a 4096-byte mountinfo line, an 8192-byte state record).
max_len() {
	case $1 in
	size | cpu_list) echo 64 ;;
	stat | state_fields) echo 2048 ;;
	mountinfo) echo 4200 ;;
	state) echo 8300 ;;
	*) echo 4096 ;;
	esac
}

# What went wrong, from a harness's log: a failed check with its message, or
# the sanitizer's report up to the first frame in sdocker's code.
excerpt() {
	awk '/check failed:/ { p = 1 }
	     /^==[0-9]+==ERROR|^==[0-9]+== ERROR|runtime error:/ { if (!p) p = 2 }
	     p == 1 && /^==[0-9]+==/ { exit }
	     p { print "    " $0; if (++n >= 14) exit }' "$1"
	echo "    full log: $1"
}

# Files of a directory, if it exists; none otherwise.
inputs_in() {
	[ -d "$1" ] && find "$1" -maxdepth 1 -type f | sort
}

for name in "$@"; do
	bin="$dir/$name"
	log="$dir/$name.log"
	if [ ! -x "$bin" ]; then
		echo "FAIL $name: $bin is missing (make fuzz-build)"
		failed=$((failed + 1))
		continue
	fi
	opts=(-max_len="$(max_len "$name")" -timeout=10 -rss_limit_mb=2048)
	[ -f "$src/$name.dict" ] && opts+=(-dict="$src/$name.dict")
	if [ "$mode" = regress ]; then
		mapfile -t files < <(inputs_in "$src/corpus/$name"; inputs_in "$src/regressions/$name")
		if [ "${#files[@]}" -eq 0 ]; then
			echo "FAIL $name: no inputs in fuzz/corpus/$name or fuzz/regressions/$name"
			failed=$((failed + 1))
			continue
		fi
		mkdir -p "$dir/crashes/$name"
		if "$bin" "${opts[@]}" -artifact_prefix="$dir/crashes/$name/" "${files[@]}" >"$log" 2>&1; then
			echo "ok   $name: ${#files[@]} inputs"
			passed=$((passed + 1))
		else
			echo "FAIL $name: $(sed -n 's/^Running: //p' "$log" | tail -n 1)"
			excerpt "$log"
			failed=$((failed + 1))
		fi
		continue
	fi
	new="$dir/corpus/$name"
	crashes="$dir/crashes/$name/"
	mkdir -p "$new" "$crashes"
	seeds=("$src/corpus/$name")
	[ -d "$src/regressions/$name" ] && seeds+=("$src/regressions/$name")
	before=$(find "$new" -type f | wc -l)
	if "$bin" "${opts[@]}" -max_total_time="$seconds" -print_final_stats=1 \
		-artifact_prefix="$crashes" "$new" "${seeds[@]}" >"$log" 2>&1; then
		runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
		after=$(find "$new" -type f | wc -l)
		echo "ok   $name: ${runs:-?} runs in ${seconds} s, $((after - before)) new inputs in $new"
		passed=$((passed + 1))
	else
		artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
		echo "FAIL $name: input saved as ${artifact:-? (see the log)}"
		excerpt "$log"
		failed=$((failed + 1))
	fi
done

echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
