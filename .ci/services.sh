# Sourced by .ci/run: a throwaway PostgreSQL cluster and a local S3 server for the tests.
# Installs Debian's PostgreSQL when its binaries are missing, starts both on free ports
# on 127.0.0.1 (PostgreSQL as the `postgres` user, never root), exports the variables the
# tests read (MONITOR_TEST_POSTGRES, MONITOR_TEST_S3_ENDPOINT) and stops both on exit.

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    echo "ci: installing PostgreSQL (Debian's package)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq postgresql >/dev/null
fi
MONITOR_SERVICES_DIR="$(mktemp -d /tmp/monitor-ci-services.XXXXXX)"
chmod 755 "$MONITOR_SERVICES_DIR"  # the postgres user must reach its cluster
monitor_stop_services() {
    python tests/services.py stop "$MONITOR_SERVICES_DIR" || true
    rm -rf "$MONITOR_SERVICES_DIR"
}
trap monitor_stop_services EXIT
eval "$(python tests/services.py start "$MONITOR_SERVICES_DIR")"
echo "ci: PostgreSQL at ${MONITOR_TEST_POSTGRES%%:*}://…@${MONITOR_TEST_POSTGRES##*@}, S3 at $MONITOR_TEST_S3_ENDPOINT"
