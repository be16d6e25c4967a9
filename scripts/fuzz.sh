#!/bin/sh
# make fuzz: build every libFuzzer target in tests/fuzz/ against the whole library (clang,
# ASan + UBSan) and run each for FUZZ_TIME seconds (default 60) from its seed corpus in
# tests/fuzz/corpus/<target>/. New inputs go to build/fuzz/corpus/<target>/, crashes to
# build/fuzz/crashes/. FUZZ_PARALLEL targets run at once (default 1). Prints executions per
# target; exits 1 when any target crashed.
set -u
cd "$(dirname "$0")/.."
FUZZ_TIME=${FUZZ_TIME:-60}
OUT=build/fuzz
PKGS="gnutls nettle ldns sqlite3 libcurl libevent liburcu-qsbr"
CFLAGS="-std=c11 -D_GNU_SOURCE -I. -g -O1 -fno-omit-frame-pointer -DZONEFILE_GENERATE_MAX=4096 \
	$(pkg-config --cflags $PKGS)"
LIBS="$(pkg-config --libs $PKGS) -levent_pthreads -lhogweed -lgmp -lpthread -lm"
mkdir -p "$OUT/obj" "$OUT/crashes"
# Objects are reused between runs; a changed header makes them all stale.
if [ -n "$(find dns zones keys dnssec xfr adapters server -name '*.h' -newer "$OUT/obj/.stamp" \
	2>/dev/null | head -n 1)" ] || [ ! -f "$OUT/obj/.stamp" ]; then
	rm -f "$OUT"/obj/*.o
fi
touch "$OUT/obj/.stamp"
export LSAN_OPTIONS="suppressions=$(pwd)/tests/fuzz/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"

objs=""
for src in $(ls dns/*.c zones/*.c keys/*.c dnssec/*.c xfr/*.c adapters/*.c adapters/*/*.c \
		server/*.c server/stages/*.c 2>/dev/null | grep -v '^server/main.c$'); do
	obj="$OUT/obj/$(echo "$src" | tr / _).o"
	if [ ! -f "$obj" ] || [ "$src" -nt "$obj" ]; then
		clang $CFLAGS -fsanitize=fuzzer-no-link,address,undefined -c "$src" -o "$obj" || exit 1
	fi
	objs="$objs $obj"
done

# Link every target first, then run them: FUZZ_PARALLEL of them at a time (default 1).
names=""
for src in tests/fuzz/fuzz_*.c; do
	name=$(basename "$src" .c)
	clang $CFLAGS -fsanitize=fuzzer,address,undefined "$src" $objs $LIBS -o "$OUT/$name" || exit 1
	names="$names $name"
done

run_target() {
	name=$1
	mkdir -p "$OUT/corpus/$name"
	seeds="tests/fuzz/corpus/$name"
	[ -d "$seeds" ] || seeds=""
	"$OUT/$name" -max_total_time="$FUZZ_TIME" -print_final_stats=1 -timeout=10 \
		-rss_limit_mb=2048 -artifact_prefix="$OUT/crashes/$name-" "$OUT/corpus/$name" \
		$seeds >"$OUT/$name.log" 2>&1
	echo $? >"$OUT/$name.rc"
}

FUZZ_PARALLEL=${FUZZ_PARALLEL:-1}
running=0
for name in $names; do
	rm -f "$OUT/$name.rc"
	run_target "$name" &
	running=$((running + 1))
	if [ "$running" -ge "$FUZZ_PARALLEL" ]; then
		wait
		running=0
	fi
done
wait

fail=0
printf '%-22s %12s %10s %s\n' target executions seconds result
for name in $names; do
	log="$OUT/$name.log"
	rc=$(cat "$OUT/$name.rc" 2>/dev/null || echo 1)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	if [ "$rc" -eq 0 ]; then
		result=ok
	else
		result="CRASH (see $log)"
		fail=1
	fi
	printf '%-22s %12s %10s %s\n' "$name" "${execs:-?}" "$FUZZ_TIME" "$result"
done
exit $fail
