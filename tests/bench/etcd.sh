# scripts/bench etcd [REQUESTS_PER_CLIENT]: starts a one-member etcd on
# loopback (scripts/etcd-test-server, always stopped) and runs bench-etcd
# against it: raw gateway puts/s, berthd creates/s on etcd and on the
# embedded store, with 1 and 64 clients.
exec "$BERTH_SOURCE_DIR/scripts/etcd-test-server" -- "$BERTH_BUILD_DIR/bench-etcd" "$@"
