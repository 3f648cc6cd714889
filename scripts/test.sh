#!/usr/bin/env bash
# Runs Haven's whole test suite against real components. The Go tests start their own
# PostgreSQL, Redis and Chromium on free 127.0.0.1 ports in temporary directories and stop
# them when done (internal/testenv); this script makes sure the programs are installed —
# Debian's postgresql, redis-server and chromium, installed when missing and running as
# root — then runs gofmt, go vet and the race-enabled tests. Under CI=true a test that
# cannot find a component fails instead of skipping.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"

missing=()
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
command -v redis-server >/dev/null || missing+=(redis-server)
command -v chromium >/dev/null || missing+=(chromium)
if ((${#missing[@]})); then
	if [ "$(id -u)" = 0 ]; then
		echo "installing ${missing[*]}"
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	else
		echo "warning: ${missing[*]} not installed and not root: tests needing them will skip (CI=true fails them)" >&2
	fi
fi
# Debian starts the packaged services on install; the tests use their own instances.
if [ "$(id -u)" = 0 ] && command -v systemctl >/dev/null; then
	systemctl stop redis-server postgresql >/dev/null 2>&1 || true
fi

unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
	echo "gofmt would change:" >&2
	echo "$unformatted" >&2
	exit 1
fi
go vet ./...
go test -race -count=1 -timeout 30m "$@" ./...
