#!/usr/bin/env bash
# Checks that every library and tool blonet builds against is present at a
# version that works, and installs what is missing from Debian's packages.
# Idempotent: a machine that has everything is left untouched.
#
#   deploy/deps.sh           check; install what is missing when run as root
#   deploy/deps.sh --check   check only; never installs
#   deploy/deps.sh --bench   also install, best effort, the servers and
#                            client libraries of make bench's JetStream /
#                            Mosquitto comparison (never needed to build or
#                            test blonet; CI and make check do not ask)
#
# Exits 0 when everything is present; otherwise prints the exact apt-get
# command that would fix it and exits 1. The comparison's packages never
# change the exit status: without them the comparison is skipped.
set -u

check_only=0
bench=0
for arg in "$@"; do
	case "$arg" in
	--check) check_only=1 ;;
	--bench) bench=1 ;;
	*) echo "usage: deploy/deps.sh [--check] [--bench]" >&2; exit 2 ;;
	esac
done

# Debian packages for each requirement; kept in one list so the printed
# command and the install agree.
PKGS_BUILD="build-essential pkg-config"
missing_pkgs=""
problems=""

need() { # need PACKAGE REASON
	case " $missing_pkgs " in *" $1 "*) ;; *) missing_pkgs="$missing_pkgs $1" ;; esac
	problems="$problems
  - $2"
}

# version_ge A B: true when version A >= version B (dotted numbers).
version_ge() {
	[ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n 1)" = "$2" ]
}

check_pc() { # check_pc PCNAME MINVERSION PACKAGE
	local v
	if ! command -v pkg-config >/dev/null 2>&1; then
		need pkg-config "pkg-config is not installed"
		need "$3" "$1 cannot be checked without pkg-config"
		return
	fi
	if ! v=$(pkg-config --modversion "$1" 2>/dev/null); then
		need "$3" "$1 not found by pkg-config"
		return
	fi
	if [ -n "$2" ] && ! version_ge "$v" "$2"; then
		need "$3" "$1 $v is older than the required $2"
	fi
}

check_all() {
	missing_pkgs=""
	problems=""
	command -v cc >/dev/null 2>&1 || need build-essential "no C compiler (cc)"
	command -v make >/dev/null 2>&1 || need build-essential "no make"
	check_pc libzmq 4.3.3 libzmq3-dev
	check_pc libsodium 1.0.18 libsodium-dev
	check_pc lmdb 0.9.24 liblmdb-dev
	check_pc libprotobuf-c 1.4.1 libprotobuf-c-dev
	check_pc libcjson 1.7.15 libcjson-dev
	check_pc cmocka 1.1.5 libcmocka-dev
	check_pc ncursesw 6.1 libncurses-dev
	# Tests drive the console's full screen in tmux and cut mesh links
	# between network namespaces with nftables.
	command -v tmux >/dev/null 2>&1 || need tmux "tmux not found (the console's full-screen test)"
	# nft and ip live in /usr/sbin, off an ordinary user's PATH.
	command -v nft >/dev/null 2>&1 || [ -x /usr/sbin/nft ] || [ -x /sbin/nft ] ||
		need nftables "nft not found (the mesh's link-cut test)"
	command -v ip >/dev/null 2>&1 || [ -x /usr/sbin/ip ] || [ -x /sbin/ip ] ||
		need iproute2 "ip not found (the mesh's link-cut test)"
	# The clock-skew fault scenario runs brokers an hour off with libfaketime.
	# (The package installs the faketime command and libfaketime.so.1.)
	command -v faketime >/dev/null 2>&1 || need faketime "faketime not found (the clock-skew fault test)"
	# The demo's test checks its account against journals and reports with jq.
	command -v jq >/dev/null 2>&1 || need jq "jq not found (the demo's test)"
	if ! command -v protoc-c >/dev/null 2>&1; then
		need protobuf-c-compiler "protoc-c not found"
	else
		local pv
		pv=$(protoc-c --version 2>/dev/null | sed -n 's/^protobuf-c \([0-9.]*\).*/\1/p' | head -n 1)
		if [ -z "$pv" ] || ! version_ge "$pv" 1.4.1; then
			need protobuf-c-compiler "protoc-c ${pv:-of unknown version} is older than 1.4.1"
		fi
	fi
	# CURVE support is a build option of libzmq: ask the library itself.
	if pkg-config --exists libzmq 2>/dev/null && command -v cc >/dev/null 2>&1; then
		local t
		t=$(mktemp -d)
		printf '#include <zmq.h>\nint main(void){return zmq_has("curve")?0:1;}\n' >"$t/c.c"
		if ! cc -o "$t/c" "$t/c.c" $(pkg-config --cflags --libs libzmq) >/dev/null 2>&1; then
			need libzmq3-dev "a program against libzmq does not link"
		elif ! "$t/c"; then
			problems="$problems
  - libzmq is built without CURVE (zmq_has(\"curve\") is false): install a libzmq built with libsodium"
			missing_pkgs="$missing_pkgs libzmq5"
		fi
		rm -rf "$t"
	fi
}

# The comparison's servers and client libraries (--bench): best effort, one
# line when they cannot be had. Runs before the checks below, which exit.
bench_missing() { # the packages of the comparison not yet installed
	local m=""
	command -v nats-server >/dev/null 2>&1 || [ -x /usr/sbin/nats-server ] || m="$m nats-server"
	command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || m="$m mosquitto"
	pkg-config --exists libnats 2>/dev/null || m="$m libnats-dev"
	pkg-config --exists libmosquitto 2>/dev/null || m="$m libmosquitto-dev"
	echo "$m"
}
if [ "$bench" = 1 ]; then
	bench_pkgs=$(bench_missing)
	if [ -n "$bench_pkgs" ] && [ "$check_only" = 0 ] && [ "$(id -u)" = 0 ]; then
		echo "blonet: installing for the bench's comparison:$bench_pkgs" >&2
		export DEBIAN_FRONTEND=noninteractive
		apt-get install -y --no-install-recommends $bench_pkgs >/dev/null 2>&1 ||
			{ apt-get update -qq >/dev/null 2>&1 &&
				apt-get install -y --no-install-recommends $bench_pkgs >/dev/null 2>&1; }
		bench_pkgs=$(bench_missing)
	fi
	if [ -n "$bench_pkgs" ]; then
		echo "blonet: the bench's JetStream / Mosquitto comparison will be skipped; as root, run:  apt-get install -y --no-install-recommends$bench_pkgs" >&2
	fi
fi

check_all
if [ -z "$problems" ]; then
	exit 0
fi

cmd="apt-get install -y --no-install-recommends$missing_pkgs"
if [ "$check_only" = 1 ] || [ "$(id -u)" != 0 ]; then
	echo "blonet: missing or unusable dependencies:$problems" >&2
	echo "blonet: as root, run:  apt-get update && $cmd" >&2
	exit 1
fi

echo "blonet: installing:$missing_pkgs" >&2
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y --no-install-recommends $missing_pkgs >/dev/null 2>&1; then
	apt-get update -qq || { echo "blonet: apt-get update failed" >&2; exit 1; }
	apt-get install -y --no-install-recommends $missing_pkgs || {
		echo "blonet: apt-get install failed:$missing_pkgs" >&2; exit 1; }
fi

check_all
if [ -n "$problems" ]; then
	echo "blonet: still missing after install:$problems" >&2
	exit 1
fi
echo "blonet: dependencies ready" >&2
