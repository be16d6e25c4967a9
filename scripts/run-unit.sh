#!/bin/sh
# Run every cmocka unit test binary; fail when any fails.
set -u
fail=0
total=0
for t in "$@"; do
	total=$((total + 1))
	if ! "$t"; then
		echo "FAILED: $t"
		fail=$((fail + 1))
	fi
done
echo "unit test programs: $((total - fail)) passed, $fail failed"
[ "$fail" -eq 0 ]
