#!/bin/sh
# The include graph of DESIGN.md: each folder may include only the folders listed.
set -u
allowed() {
	case "$1" in
	dns) echo "dns" ;;
	zones) echo "dns zones" ;;
	keys) echo "dns keys" ;;
	dnssec) echo "dns zones keys dnssec" ;;
	xfr) echo "dns zones xfr" ;;
	adapters) echo "dns zones adapters" ;;
	*) echo "*" ;;
	esac
}
bad=0
for f in $(find dns zones keys dnssec xfr adapters -name '*.[ch]' 2>/dev/null); do
	top=${f%%/*}
	ok=$(allowed "$top")
	for inc in $(sed -n 's/^#include *"\([a-z_]*\)\/.*/\1/p' "$f"); do
		case " $ok " in
		*" $inc "*) ;;
		*) echo "check-includes: $f includes $inc/, but $top/ may include only: $ok"; bad=1 ;;
		esac
	done
done
[ "$bad" -eq 0 ] && echo "check-includes: ok"
exit $bad
