#!/usr/bin/env bash
# Runs the three-site example: one etcd on loopback and three failoverd
# nodes (examples/multi-site/site-{a,b,c}.hcl) until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v etcd >/dev/null || { echo "etcd not found: apt-get install etcd-server" >&2; exit 1; }
mkdir -p state/multi-site
pids=()
cleanup() {
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM
etcd --name multi-site --data-dir state/multi-site/etcd \
	--listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
	--listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
	--initial-cluster multi-site=http://127.0.0.1:2380 --log-level warn >state/multi-site/etcd.log 2>&1 &
pids+=($!)
for site in a b c; do
	./bin/failoverd run -config "examples/multi-site/site-$site.hcl" >"state/multi-site/$site.log" 2>&1 &
	pids+=($!)
done
cat <<'MSG'
etcd and sites a, b and c are running (logs in state/multi-site/). Try:
  failoverctl -addr 127.0.0.1:8051 sites                    # three sites, one leader
  dig @127.0.0.1 -p 5351 www.example.test +short            # 127.0.0.1 on every node (ports 5351-5353)
  failoverctl -addr 127.0.0.1:8052 deactivate www.example.test   # applied by the leader, served by all
Ctrl-C stops everything.
MSG
wait
