#!/bin/sh
# periodic.sh SECONDS COMMAND [ARG...]: run COMMAND now and then every SECONDS, for the
# compose services that stand in for the systemd timers. A failed run is reported and
# retried at the next tick; SIGTERM (docker compose stop) ends the loop at once.
set -u
case "${1:-}" in
    '' | *[!0-9]*)
        echo "usage: periodic.sh SECONDS COMMAND [ARG...]" >&2
        exit 2
        ;;
esac
interval=$1
shift
[ "$#" -gt 0 ] || { echo "usage: periodic.sh SECONDS COMMAND [ARG...]" >&2; exit 2; }

sleeper=""
trap '[ -n "$sleeper" ] && kill "$sleeper" 2>/dev/null; exit 0' TERM INT

while :; do
    if ! "$@"; then
        echo "periodic.sh: '$*' failed; retrying in ${interval}s" >&2
    fi
    sleep "$interval" &
    sleeper=$!
    wait "$sleeper"
    sleeper=""
done
