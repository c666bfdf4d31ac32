#!/usr/bin/env bash
# bench/run.sh — `make bench`: failoverd against gdnsd, Knot and PowerDNS on this machine,
# one table of every figure at the end (also written to $BENCH_OUT when set).
#
#   bash bench/run.sh [--peers-only] [--only qps,failover,dnssec,probe,config,sites] [--quick]
#
#   --peers-only   measure gdnsd, Knot and PowerDNS only (no bin/failoverd needed)
#   --only LIST    run only these sections (default: qps,failover,dnssec,probe,config,sites;
#                  "floor" is extra: bench/udpfloor, the cheapest Go UDP responder in three I/O styles)
#   --quick        smoke run: 1 short run / 1 trial / 1,000 and 3,000 services / 1,000 probe
#                  targets / 500 steady targets for etcd writes (numbers meaningless)
#
# Knobs (env, defaults): RUNS=3 DURATION=10 (qps runs per name and seconds each),
#   TRIALS=5 (kill/restart cycles per server, also the sites section's cycles and leader kills),
#   SERVICES=10000 SERVICES_LARGE=100000 (the config section runs at both sizes; any count gives
#   valid loopback addresses), CFG_TIMEOUT=60s CFG_TIMEOUT_LARGE=300s (longest wait for start and
#   each reload at each size; raise them on a loaded machine), PROBE_TARGETS=100000
#   PROBE_LISTENERS=200 PROBE_SECS=60 PROBESCALE_ARGS (extra flags for bench/probescale),
#   SITES_LEASE=3s (etcd lease_ttl of the three nodes), SITES_TARGETS=10000 SITES_SETTLE=30
#   SITES_SETTLE_MAX=180 SITES_WINDOW=60 (steady targets; seconds at least and at most before,
#   and of, counting etcd writes),
#   SERVER_CPU=0 CLIENT_CPU=1, KEEP=1 keeps the work directory, BENCH_OUT=FILE copies the table.
#
# What it does (bench/NOTES.md says what each figure means):
#   * installs dnsperf, gdnsd, knot, pdns-server, pdns-backend-bind (and etcd-server for the
#     sites section) from Debian when missing;
#   * writes one zone (static A, health-checked www with primary 127.0.0.11 and backup
#     127.0.0.12, HTTP targets on :8080 served locally by bench/benchtool) for every server;
#   * qps: each server alone, pinned to CPU $SERVER_CPU (failoverd with GOMAXPROCS=1), dnsperf
#     pinned to CPU $CLIENT_CPU, RUNS x DURATION s per name, median; server CPU time per answered
#     query from /proc/PID/task/*/schedstat over the middle of each run; Knot serves the static
#     name only (it has no health checks): the static ceiling;
#   * failover: kill → backup and restart → primary, TRIALS cycles per server, at each server's
#     fastest check settings, failoverd at the same settings, and failoverd with `watch = true`
#     at a 10 s interval;
#   * dnssec: the same zone signed online (failoverd `dnssec {}`, PowerDNS lua=shared with
#     bind-dnssec-db and `pdnsutil secure-zone`): qps and server µs/q with and without DO on
#     the static and the health-checked name, the ratio DO / no DO; then failoverd's kill →
#     backup in the signed zone (DO queries, the switch counts when the signed answer is
#     served) next to the unsigned one at 1 s checks, TRIALS cycles each;
#   * probe: bench/probescale (if present) for rounds/s, lateness p99 and memory per target;
#   * config: SERVICES and SERVICES_LARGE services: validate time and peak RSS, start → last
#     service answers, peak RSS (VmHWM), SIGHUP reload time with continuous queries counting
#     failures;
#   * sites: one etcd and three failoverd nodes (each its own site, probe_source 127.0.0.21–23)
#     beside one node without etcd: kill → backup on the last node against the single node,
#     kill -9 of the leader → new leader and decisions resumed, etcd writes/s per site with
#     SITES_TARGETS TCP targets at 10 s that never change.
# Loopback only; every process started here is killed on exit; every wait is bounded.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PEERS_ONLY=0
QUICK=0
SECTIONS="qps failover dnssec probe config sites"
RUNS=${RUNS:-3}
DURATION=${DURATION:-10}
TRIALS=${TRIALS:-5}
SERVICES=${SERVICES:-10000}
SERVICES_LARGE=${SERVICES_LARGE:-100000}
CFG_TIMEOUT=${CFG_TIMEOUT:-60s}
CFG_TIMEOUT_LARGE=${CFG_TIMEOUT_LARGE:-300s}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
while [ $# -gt 0 ]; do
  case $1 in
    --peers-only) PEERS_ONLY=1 ;;
    --only) SECTIONS=${2//,/ }; shift ;;
    --quick) QUICK=1 RUNS=1 DURATION=3 TRIALS=1 SERVICES=1000 SERVICES_LARGE=3000 PROBE_TARGETS=${PROBE_TARGETS:-1000} PROBE_SECS=15 SITES_TARGETS=${SITES_TARGETS:-500} SITES_SETTLE=12 SITES_WINDOW=15 ;;
    -h|--help) sed -n '2,48p' "$0"; exit 0 ;;
    *) echo "bench/run.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
want() { [[ " $SECTIONS " == *" $1 "* ]]; }
log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }
T_START=$(date +%s)
LOAD_START=$(cut -d" " -f1-3 /proc/loadavg)

# ---------------------------------------------------------------- dependencies
install_deps() {
  local need=()
  command -v dnsperf >/dev/null || need+=(dnsperf)
  command -v gdnsd >/dev/null || need+=(gdnsd)
  command -v pdns_server >/dev/null || need+=(pdns-server)
  command -v knotd >/dev/null || need+=(knot)
  ls /usr/lib/*/pdns/libbindbackend.so >/dev/null 2>&1 || need+=(pdns-backend-bind)
  command -v taskset >/dev/null || need+=(util-linux)
  command -v ss >/dev/null || need+=(iproute2)
  [ ${#need[@]} -eq 0 ] && return 0
  log "installing from Debian: ${need[*]}"
  local sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
  export DEBIAN_FRONTEND=noninteractive
  if ! $sudo apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends "${need[@]}" >/dev/null; then
    $sudo apt-get -o DPkg::Lock::Timeout=300 update -qq >/dev/null
    $sudo apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends "${need[@]}" >/dev/null
  fi
}
install_deps

if [ "$PEERS_ONLY" = 0 ]; then
  [ -x "$ROOT/bin/failoverd" ] || { echo "bin/failoverd missing: run 'make build' (or use --peers-only)" >&2; exit 1; }
fi

# ---------------------------------------------------------------- work dir, processes
W=$(mktemp -d /tmp/failoverd-bench.XXXXXX)
mkdir -p "$W"/{logs,results,targets}
declare -A PIDS=()   # name -> pid of every process started here

stop_proc() { # name: TERM, wait up to 5 s, then KILL
  local name=$1 pid=${PIDS[$1]:-}
  [ -n "$pid" ] || return 0
  unset "PIDS[$name]"
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  local n
  for n in "${!PIDS[@]}"; do stop_proc "$n"; done
  if [ "${KEEP:-0}" = 1 ]; then log "work directory kept: $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_proc() { # name cpu|- cmd... (background, output to logs/name.log)
  local name=$1 cpu=$2; shift 2
  if [ "$cpu" = - ]; then "$@" >"$W/logs/$name.log" 2>&1 &
  else taskset -c "$cpu" "$@" >"$W/logs/$name.log" 2>&1 &
  fi
  PIDS[$name]=$!
}

# The ports are fixed, so a second bench run on the machine (or anything else on them) would
# answer in place of the server under test: refuse to start then.
need_free() { # udp|tcp port
  if ss -Hln"${1:0:1}" "sport = :$2" | grep -q .; then
    echo "bench/run.sh: $1 port $2 is already in use on this machine (another bench run?):" >&2
    ss -Hlnp"${1:0:1}" "sport = :$2" >&2
    exit 1
  fi
}

log "building bench/benchtool"
(cd "$ROOT" && go build -o "$W/benchtool" ./bench/benchtool)
BT=$W/benchtool

wait_answer() { # port name [want] -> seconds, fails after 60 s
  "$BT" wait -dns "127.0.0.1:$1" -name "$2" -want "${3:-}" -timeout "${WAIT_TIMEOUT:-60s}"
}

sched_ns() { # pid -> on-CPU ns of all its threads
  # A thread can exit between the glob and the read (PowerDNS starts and
  # ends threads): cat then fails, which under pipefail would end the run.
  { cat /proc/"$1"/task/*/schedstat 2>/dev/null || true; } | awk '{s+=$1} END{printf "%.0f", s}'
}
median() { sort -g | awk '{a[NR]=$1} END{if(!NR){print "n/a"; exit} if(NR%2) print a[(NR+1)/2]; else printf "%.6g\n", (a[NR/2]+a[NR/2+1])/2}'; }
range() { sort -g | awk 'NR==1{a=$1} {b=$1} END{print a "–" b}'; }
rss_kib() { awk '/^VmRSS/{print $2}' /proc/"$1"/status; }
cpu_s() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / hz}' /proc/"$1"/stat; }   # user+sys s of a process (all threads)

# ---------------------------------------------------------------- configurations
# One zone for everybody: SOA/NS, static A 192.0.2.1 (ttl 300), www: primary 127.0.0.11,
# backup 127.0.0.12, health check GET http://<addr>:8080/health, ttl 0.
GDNSD_PORT=5301 PDNS_PORT=5302 PDNS_SHARED_PORT=5304 FOD_PORT=5305 FOD_API=18053
FOD10K_PORT=5306 FOD10K_API=18054 PDNS_SIGNED_PORT=5308 KNOT_PORT=5309

write_peer_configs() {
  mkdir -p "$W"/gdnsd/{zones,run,state} "$W"/pdns/run "$W"/pdns-shared/run
  local zone='$TTL 300
@       SOA ns1.example.com. hostmaster.example.com. 1 3600 600 86400 300
@       NS  ns1.example.com.
ns1     A   127.0.0.1
static  A   192.0.2.1'
  cat >"$W/gdnsd/config" <<EOF
options => {
  listen => [ 127.0.0.1:$GDNSD_PORT ]
  udp_threads => 1
  tcp_threads => 1
  min_ttl => 0
  run_dir => $W/gdnsd/run
  state_dir => $W/gdnsd/state
}
service_types => {
  health => {
    plugin => http_status
    port => 8080
    url_path => /health
    ok_codes => [ 200 ]
    interval => 2     # gdnsd 3.8 minimum (checkconf: "Value out of range (2, 3600)")
    timeout => 1      # integer seconds, must be < interval
    up_thresh => 1
    ok_thresh => 1
    down_thresh => 1
  }
}
plugins => {
  simplefo => {
    www => {
      service_types => [ health ]
      primary => 127.0.0.11
      secondary => 127.0.0.12
    }
  }
}
EOF
  printf '%s\nwww 0 DYNA simplefo!www\n' "$zone" >"$W/gdnsd/zones/example.com"
  gdnsd -c "$W/gdnsd" checkconf >"$W/logs/gdnsd-checkconf.log" 2>&1 || { cat "$W/logs/gdnsd-checkconf.log" >&2; exit 1; }

  # Knot: the same static zone, no health checks (the static ceiling); one UDP worker like the others
  mkdir -p "$W"/knot/{run,db}
  cat >"$W/knot/knot.conf" <<EOF
server:
    listen: 127.0.0.1@$KNOT_PORT
    rundir: $W/knot/run
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
database:
    storage: $W/knot/db
log:
  - target: stderr
    any: warning
zone:
  - domain: example.com
    file: $W/knot/example.com.zone
    zonefile-sync: -1
    journal-content: none
EOF
  printf '$ORIGIN example.com.\n%s\n' "$zone" >"$W/knot/example.com.zone"
  knotc -c "$W/knot/knot.conf" conf-check >"$W/logs/knot-checkconf.log" 2>&1 || { cat "$W/logs/knot-checkconf.log" >&2; exit 1; }

  local mode dir port
  for mode in yes shared; do
    if [ $mode = yes ]; then dir=$W/pdns port=$PDNS_PORT; else dir=$W/pdns-shared port=$PDNS_SHARED_PORT; fi
    cat >"$dir/pdns.conf" <<EOF
launch=bind
bind-config=$dir/named.conf
local-address=127.0.0.1
local-port=$port
socket-dir=$dir/run
daemon=no
guardian=no
disable-syslog=yes
loglevel=4
webserver=no
api=no
security-poll-suffix=
enable-lua-records=$mode
lua-health-checks-interval=1
receiver-threads=1
distributor-threads=1
reuseport=yes
cache-ttl=20
EOF
    echo "zone \"example.com\" { type master; file \"$dir/example.com.zone\"; };" >"$dir/named.conf"
    { printf '$ORIGIN example.com.\n%s\n' "$zone"
      echo "www 0 LUA A \"ifurlup('http://www.example.com:8080/health', {{'127.0.0.11'}, {'127.0.0.12'}}, {timeout='1'})\""
    } >"$dir/example.com.zone"
  done
}

fod_config() { # file port api interval timeout [signed|-] [watch]
  local dnssec="" watch=""
  [ "${6:-}" = signed ] && dnssec=$'\n  dnssec {}'
  [ "${7:-}" = watch ] && watch=$'\n    watch    = true'
  cat >"$1" <<EOF
server {
  state_dir = "$(dirname "$1")/state"
  hostname  = "ns1.example.com"
}
dns { listen = ["127.0.0.1:$2"] }
api { listen = "127.0.0.1:$3" }
zone "example.com" {
  record "static" {
    type  = "A"
    ttl   = 300
    rdata = ["192.0.2.1"]
  }$dnssec
}
active_failover "www.example.com." {
  address       = "127.0.0.11"
  failover_data = "127.0.0.12"
  ttl           = 0
  monitor {
    protocol = "HTTP"
    interval = "$4"
    timeout  = "$5"
    retries  = 0
    port     = 8080
    path     = "/health"$watch
  }
}
EOF
}

# PowerDNS signing online: the lua=shared setup plus a DNSSEC database for the bind
# backend and one ECDSAP256SHA256 CSK from `pdnsutil secure-zone`.
write_pdns_signed() {
  local dir=$W/pdns-signed
  mkdir -p "$dir/run"
  sed -e "s|$W/pdns-shared|$dir|g" -e "s|^local-port=.*|local-port=$PDNS_SIGNED_PORT|" "$W/pdns-shared/pdns.conf" >"$dir/pdns.conf"
  echo "bind-dnssec-db=$dir/dnssec.sqlite3" >>"$dir/pdns.conf"
  echo "default-ksk-algorithm=ecdsa256" >>"$dir/pdns.conf"
  echo "zone \"example.com\" { type master; file \"$dir/example.com.zone\"; };" >"$dir/named.conf"
  cp "$W/pdns-shared/example.com.zone" "$dir/example.com.zone"
  { pdnsutil --config-dir="$dir" create-bind-db "$dir/dnssec.sqlite3" &&
    pdnsutil --config-dir="$dir" secure-zone example.com &&
    pdnsutil --config-dir="$dir" show-zone example.com; } >"$W/logs/pdnsutil.log" 2>&1 \
    || { cat "$W/logs/pdnsutil.log" >&2; exit 1; }
}

write_peer_configs
mkdir -p "$W/fod" "$W/fod-signed"
fod_config "$W/fod/failoverd.hcl" $FOD_PORT $FOD_API 1s 500ms
fod_config "$W/fod-signed/failoverd.hcl" $FOD_PORT $FOD_API 1s 500ms signed
if [ "$PEERS_ONLY" = 0 ]; then
  for c in "$W/fod/failoverd.hcl" "$W/fod-signed/failoverd.hcl"; do
    "$ROOT/bin/failoverd" validate -config "$c" || { echo "failoverd rejected the bench configuration $c" >&2; exit 1; }
  done
fi
if want dnssec; then write_pdns_signed; fi

SERVERS=(gdnsd knot pdns pdns-shared)
[ "$PEERS_ONLY" = 1 ] || SERVERS=(failoverd gdnsd knot pdns pdns-shared)
FLOOR_PORT=5307
port_of() { case $1 in gdnsd) echo $GDNSD_PORT;; knot) echo $KNOT_PORT;; pdns) echo $PDNS_PORT;; pdns-shared) echo $PDNS_SHARED_PORT;; pdns-signed) echo $PDNS_SIGNED_PORT;; failoverd*) echo $FOD_PORT;; floor-*) echo $FLOOR_PORT;; esac; }

start_server() { # name [failoverd config]
  local name=$1 port; port=$(port_of "$1")
  need_free udp "$port"
  case $name in
    gdnsd) start_proc gdnsd "$SERVER_CPU" gdnsd -c "$W/gdnsd" start ;;
    knot) start_proc knot "$SERVER_CPU" knotd -c "$W/knot/knot.conf" ;;
    pdns) start_proc pdns "$SERVER_CPU" pdns_server --config-dir="$W/pdns" ;;
    pdns-shared) start_proc pdns-shared "$SERVER_CPU" pdns_server --config-dir="$W/pdns-shared" ;;
    pdns-signed) start_proc pdns-signed "$SERVER_CPU" pdns_server --config-dir="$W/pdns-signed" ;;
    failoverd*) GOMAXPROCS=1 start_proc "$name" "$SERVER_CPU" "$ROOT/bin/failoverd" run -config "${2:-$W/fod/failoverd.hcl}" ;;
    floor-*) GOMAXPROCS=1 start_proc "$name" "$SERVER_CPU" "$W/udpfloor" -listen "127.0.0.1:$FLOOR_PORT" -mode "${name#floor-}" ;;
  esac
  wait_answer "$port" static.example.com >/dev/null || { tail -20 "$W/logs/$name.log" >&2; exit 1; }
  kill -0 "${PIDS[$name]}" 2>/dev/null || { echo "$name exited:" >&2; tail -20 "$W/logs/$name.log" >&2; exit 1; }
}

declare -A R=()   # results: "server.metric" -> value

# ---------------------------------------------------------------- qps
run_qps() { # server name-label qname [do]
  local s=$1 label=$2 q=$3 port pid i f qps p0 p1 t0 t1 win out dnsflags=()
  [ "${4:-}" = do ] && dnsflags=(-D)   # dnsperf -D: EDNS with the DO bit
  port=$(port_of "$s"); pid=${PIDS[$s]}
  printf '%s A\n' "$q" >"$W/q-$label.txt"
  out=$W/results/qps-$s-$label.txt; : >"$out"
  for i in $(seq 1 "$RUNS"); do
    f=$W/results/dnsperf-$s-$label-$i.txt
    taskset -c "$CLIENT_CPU" dnsperf "${dnsflags[@]}" -s 127.0.0.1 -p "$port" -d "$W/q-$label.txt" -l "$DURATION" \
      -c 10 -q 200 -O suppress=timeout,unexpected >"$f" 2>&1 &
    PIDS[dnsperf]=$!
    win=$(( DURATION > 3 ? DURATION - 2 : 1 ))
    sleep 1; p0=$(sched_ns "$pid"); t0=$(date +%s%N)
    sleep "$win"; p1=$(sched_ns "$pid"); t1=$(date +%s%N)
    wait "${PIDS[dnsperf]}" || true; unset "PIDS[dnsperf]"
    qps=$(awk '/Queries per second/{printf "%.0f", $4}' "$f")
    [ -n "$qps" ] || { cat "$f" >&2; exit 1; }
    awk -v a="$p0" -v b="$p1" -v w0="$t0" -v w1="$t1" -v q="$qps" \
      -v lost="$(awk '/Queries lost/{print $3}' "$f")" -v rc="$(awk '/Response codes/{sub(/.*codes: */,""); print}' "$f")" \
      'BEGIN{printf "qps=%d cpu_pct=%.0f us_per_q=%.2f lost=%s rcodes=[%s]\n", q, 100*(b-a)/(w1-w0), (b-a)/1e3/((w1-w0)/1e9*q), lost, rc}' >>"$out"
    log "  $s $label run $i: $(tail -1 "$out")"
  done
  R[$s.$label.qps]=$(sed 's/.*qps=\([0-9]*\).*/\1/' "$out" | median)
  R[$s.$label.qps_range]=$(sed 's/.*qps=\([0-9]*\).*/\1/' "$out" | range)
  R[$s.$label.us]=$(sed 's/.*us_per_q=\([0-9.]*\).*/\1/' "$out" | median)
  R[$s.$label.cpu]=$(sed 's/.*cpu_pct=\([0-9]*\).*/\1/' "$out" | median)
  R[$s.$label.lost]=$(sed 's/.*lost=\([0-9]*\).*/\1/' "$out" | awk '{s+=$1} END{print s+0}')
}

if want qps; then
  log "qps: ${SERVERS[*]}, $RUNS x ${DURATION}s per name, server on CPU $SERVER_CPU, dnsperf on CPU $CLIENT_CPU"
  need_free tcp 8080
  start_proc targets "$CLIENT_CPU" "$BT" targets -addr 127.0.0.11:8080 -addr 127.0.0.12:8080
  for s in "${SERVERS[@]}"; do
    start_server "$s"
    # the health-checked name must be answering the primary before measuring (Knot has none)
    [ "$s" = knot ] || wait_answer "$(port_of "$s")" www.example.com 127.0.0.11 >/dev/null || { echo "$s: www never answered 127.0.0.11" >&2; exit 1; }
    sleep 1
    [ "$s" = failoverd ] && R[failoverd.rss_small]=$(rss_kib "${PIDS[$s]}")
    R[$s.threads_on_cpu]=$(for t in /proc/"${PIDS[$s]}"/task/*; do taskset -cp "${t##*/}" 2>/dev/null | awk '{print $NF}' || true; done | sort -u | tr '\n' ' ')
    run_qps "$s" static static.example.com
    [ "$s" = knot ] || run_qps "$s" www www.example.com
    stop_proc "$s"
  done
  stop_proc targets
fi

# ---------------------------------------------------------------- Go UDP floor (opt-in)
FLOOR_MODES=(plain batch raw)
if want floor; then
  log "floor: bench/udpfloor ${FLOOR_MODES[*]}, static name only"
  (cd "$ROOT" && go build -o "$W/udpfloor" ./bench/udpfloor)
  for m in "${FLOOR_MODES[@]}"; do
    start_server "floor-$m"
    run_qps "floor-$m" static static.example.com
    stop_proc "floor-$m"
  done
fi

# ---------------------------------------------------------------- failover
run_failover() { # label server [failoverd config] [extra benchtool failover flags...]
  local label=$1 s=$2 cfg=${3:-} out=$W/results/failover-$1.txt
  shift $(( $# < 3 ? $# : 3 ))
  need_free tcp 8080
  start_server "$s" "$cfg"
  "$BT" failover "$@" -dns "127.0.0.1:$(port_of "$s")" -name www.example.com -trials "$TRIALS" \
    -settle 1s -hold 2s -phase 2s >"$out" 2>"$W/logs/failover-$label.err" || { cat "$out" "$W/logs/failover-$label.err" >&2; exit 1; }
  stop_proc "$s"
  R[$label.fo]=$(awk '/^FAILOVER_S/{print $2, $3, $4, $5}' "$out")
  R[$label.rec]=$(awk '/^RECOVERY_S/{print $2, $3, $4, $5}' "$out")
  log "  $label: failover ${R[$label.fo]}; recovery ${R[$label.rec]}"
}

if want failover; then
  log "failover: $TRIALS kill/restart cycles per server"
  run_failover gdnsd gdnsd
  run_failover pdns pdns
  if [ "$PEERS_ONLY" = 0 ]; then
    run_failover failoverd-1s failoverd
    fod_config "$W/fod/failoverd-2s.hcl" $FOD_PORT $FOD_API 2s 1s
    run_failover failoverd-2s failoverd "$W/fod/failoverd-2s.hcl"
    # watch = true: an idle connection to each target between rounds; a closed one is probed at
    # once, so a killed target is seen in milliseconds even at a 10 s interval
    fod_config "$W/fod/failoverd-watch.hcl" $FOD_PORT $FOD_API 10s 5s - watch
    run_failover failoverd-watch failoverd "$W/fod/failoverd-watch.hcl"
  fi
fi

# ---------------------------------------------------------------- dnssec
if want dnssec; then
  DNSSEC_SERVERS=(pdns-signed)
  [ "$PEERS_ONLY" = 1 ] || DNSSEC_SERVERS=(failoverd-signed pdns-signed)
  log "dnssec: ${DNSSEC_SERVERS[*]} with and without DO, $RUNS x ${DURATION}s per name"
  need_free tcp 8080
  start_proc targets "$CLIENT_CPU" "$BT" targets -addr 127.0.0.11:8080 -addr 127.0.0.12:8080
  for s in "${DNSSEC_SERVERS[@]}"; do
    start_server "$s" "$W/fod-signed/failoverd.hcl"
    wait_answer "$(port_of "$s")" www.example.com 127.0.0.11 >/dev/null || { echo "$s: www never answered 127.0.0.11" >&2; exit 1; }
    # a server that answers the health-checked name unsigned to a DO query cannot sign it online
    for n in static www; do
      if "$BT" wait -do -dns "127.0.0.1:$(port_of "$s")" -name $n.example.com -timeout 5s >/dev/null 2>"$W/logs/$s-$n-do.err"; then
        R[$s.$n.signs]=yes
      else
        R[$s.$n.signs]=no; log "  $s: $n.example.com is not signed: $(cat "$W/logs/$s-$n-do.err")"
      fi
    done
    sleep 1
    for n in static www; do
      run_qps "$s" $n $n.example.com
      [ "${R[$s.$n.signs]}" = yes ] && run_qps "$s" $n-do $n.example.com do
    done
    stop_proc "$s"
  done
  stop_proc targets
  if [ "$PEERS_ONLY" = 0 ]; then
    log "dnssec: failoverd kill → backup, signed zone (DO) next to unsigned, $TRIALS cycles each"
    run_failover dnssec-unsigned failoverd "$W/fod/failoverd.hcl"
    run_failover dnssec-signed failoverd-signed "$W/fod-signed/failoverd.hcl" -do
  fi
fi

# ---------------------------------------------------------------- probe capacity
PROBE_TARGETS=${PROBE_TARGETS:-100000}
PROBE_LISTENERS=${PROBE_LISTENERS:-200}
PROBE_SECS=${PROBE_SECS:-60}
if want probe; then
  if [ -d "$ROOT/bench/probescale" ]; then
    (cd "$ROOT" && go build -o "$W/probescale" ./bench/probescale)
    # the probe scheduler alone (probe/ package, HTTP targets in a child process on loopback):
    # PROBE_TARGETS at a 10 s interval for 60 s, then 100 targets for 20 s as the memory baseline
    log "probe: bench/probescale -targets $PROBE_TARGETS -listeners $PROBE_LISTENERS -interval 10s -duration ${PROBE_SECS}s ${PROBESCALE_ARGS:-}"
    # shellcheck disable=SC2086
    "$W/probescale" -targets "$PROBE_TARGETS" -listeners "$PROBE_LISTENERS" -interval 10s -duration ${PROBE_SECS}s ${PROBESCALE_ARGS:-} >"$W/results/probescale.txt" 2>&1 \
      || { cat "$W/results/probescale.txt" >&2; exit 1; }
    log "probe: bench/probescale -targets 100 -interval 10s -duration 20s (memory baseline)"
    # shellcheck disable=SC2086
    "$W/probescale" -targets 100 -interval 10s -duration 20s ${PROBESCALE_ARGS:-} >"$W/results/probescale-100.txt" 2>&1 \
      || { cat "$W/results/probescale-100.txt" >&2; exit 1; }
    P=$W/results/probescale.txt
    R[probe.rounds]=$(sed -n 's/.*(\([0-9.]*\) rounds\/s).*/\1/p' "$P" | head -1)
    R[probe.down]=$(sed -n 's/.*rounds\/s), \([0-9]*\) down.*/\1/p' "$P" | head -1)
    R[probe.p99]=$(sed -n 's/^lateness after first interval:.* p99 \([^ ]*\) .*/\1/p' "$P")
    R[probe.p50]=$(sed -n 's/^lateness after first interval:.* p50 \([^ ]*\) .*/\1/p' "$P")
    R[probe.cpu]=$(sed -n 's/^CPU .*(\([0-9.]*\) cores).*/\1/p' "$P")
    R[probe.rss]=$(sed -n 's/.*peak RSS \([0-9]*\) kB.*/\1/p' "$P")
    R[probe.rss100]=$(sed -n 's/.*peak RSS \([0-9]*\) kB.*/\1/p' "$W/results/probescale-100.txt")
    R[probe.out]=$(cat "$P")
  else
    R[probe.out]="not measured: bench/probescale is not in this tree"
  fi
fi

# ---------------------------------------------------------------- config size
# Service i gets primary 127.(1+i/62500).(i/250%250).(i%250+1) and backup the same with 101 added
# to the second octet: 62,500 per second octet, so any count up to 6,250,000 stays valid
# (octets ≤ 250) and inside 127.0.0.0/8; below 62,500 these are the addresses of earlier runs.
gen_big_config() { # file marker-ip services
  awk -v n="$3" -v port=$FOD10K_PORT -v api=$FOD10K_API -v st="$W/fod10k/state" -v m="$2" '
  function addr(base, i) { return sprintf("127.%d.%d.%d", base + int(i/62500), int(i/250)%250, i%250 + 1) }
  BEGIN{
    printf "server {\n  state_dir = \"%s\"\n  hostname  = \"ns1.example.com\"\n}\n", st
    printf "dns { listen = [\"127.0.0.1:%d\"] }\napi { listen = \"127.0.0.1:%d\" }\n", port, api
    printf "zone \"example.com\" {\n  record \"static\" {\n    type  = \"A\"\n    ttl   = 300\n    rdata = [\"192.0.2.1\"]\n  }\n"
    printf "  record \"marker\" {\n    type  = \"A\"\n    ttl   = 0\n    rdata = [\"%s\"]\n  }\n}\n", m
    for (i = 1; i <= n; i++) {
      a = addr(1, i); b = addr(101, i)
      printf "active_failover \"s%d.example.com.\" {\n  address       = \"%s\"\n  failover_data = \"%s\"\n  ttl           = 0\n  monitor {\n    protocol = \"NONE\"\n    interval = \"10s\"\n  }\n}\n", i, a, b
    }
  }' >"$1"
}
svc_addr() { echo "127.$(( 1 + $1 / 62500 )).$(( $1 / 250 % 250 )).$(( $1 % 250 + 1 ))"; }
hwm_kib() { awk '/^VmHWM/{print $2}' /proc/"$1"/status; }   # peak RSS of a running process so far

run_config() { # label services timeout: R[cfg.LABEL.*]
  local k=cfg.$1 n=$2 to=$3 C=$W/fod10k/failoverd.hcl pid m out names rl=() fails=0 queries=0 c0 t0
  log "config: $n active_failover services (monitor NONE), waits up to $to"
  rm -rf "$W/fod10k"; mkdir -p "$W/fod10k"
  gen_big_config "$C" 192.0.2.1 "$n"
  R[$k.size]=$(du -k "$C" | awk '{print $1}')
  # wall and CPU (user+sys) seconds, and the peak RSS of each run: wall time on a shared machine
  # includes waiting for a core
  : >"$W/results/validate-$1.txt"
  for _ in 1 2 3; do
    "$BT" rusage "$ROOT/bin/failoverd" validate -config "$C" >>"$W/results/validate-$1.txt" 2>"$W/logs/validate-$1.log" \
      || { cat "$W/logs/validate-$1.log" >&2; exit 1; }
  done
  R[$k.validate]=$(awk '{print $2}' "$W/results/validate-$1.txt" | median)
  R[$k.validate_cpu]=$(awk '{print $4}' "$W/results/validate-$1.txt" | median)
  R[$k.validate_hwm]=$(awk '{print $6}' "$W/results/validate-$1.txt" | sort -n | tail -1)
  t0=$(date +%s%N)
  start_proc failoverd-10k - "$ROOT/bin/failoverd" run -config "$C"
  pid=${PIDS[failoverd-10k]}
  R[$k.start]=$("$BT" wait -dns 127.0.0.1:$FOD10K_PORT -name "s$n.example.com" -want "$(svc_addr "$n")" -since "$t0" -poll 2ms -timeout "$to") \
    || { tail -20 "$W/logs/failoverd-10k.log" >&2; exit 1; }
  R[$k.start_cpu]=$(cpu_s "$pid")
  R[$k.start_hwm]=$(hwm_kib "$pid")
  sleep 2
  R[$k.rss]=$(rss_kib "$pid")
  names="static.example.com,s1.example.com,s$(( n / 2 )).example.com,s$n.example.com"
  : >"$W/results/reload-$1.txt"
  for m in 192.0.2.2 192.0.2.1 192.0.2.2; do
    gen_big_config "$C.new" "$m" "$n"; mv "$C.new" "$C"
    out=$("$BT" reload -dns 127.0.0.1:$FOD10K_PORT -pid "$pid" -names "$names" \
      -marker marker.example.com -want "$m" -workers 4 -before 1s -after 1s -maxwait "$to") || { echo "$out" >&2; tail -20 "$W/logs/failoverd-10k.log" >&2; exit 1; }
    echo "$out" >>"$W/results/reload-$1.txt"
    log "  reload: $(head -1 <<<"$out")"
    rl+=("$(awk '/^RELOAD_S/{print $2}' <<<"$out")")
    queries=$(( queries + $(awk '/^RELOAD_S/{print $4}' <<<"$out") ))
    fails=$(( fails + $(awk '/^RELOAD_S/{print $6}' <<<"$out") ))
  done
  R[$k.reload]=$(printf '%s\n' "${rl[@]}" | median)
  R[$k.reload_range]=$(printf '%s\n' "${rl[@]}" | range)
  R[$k.queries]=$queries R[$k.failed]=$fails
  R[$k.rss_after]=$(rss_kib "$pid")
  # one more reload without query load, for the CPU time a reload costs
  gen_big_config "$C.new" 192.0.2.3 "$n"; mv "$C.new" "$C"
  c0=$(cpu_s "$pid"); t0=$(date +%s%N); kill -HUP "$pid"
  R[$k.reload_quiet]=$("$BT" wait -dns 127.0.0.1:$FOD10K_PORT -name marker.example.com -want 192.0.2.3 -since "$t0" -poll 5ms -timeout "$to") \
    || { tail -20 "$W/logs/failoverd-10k.log" >&2; exit 1; }
  sleep 1
  R[$k.reload_quiet_cpu]=$(awk -v a="$c0" -v b="$(cpu_s "$pid")" 'BEGIN{printf "%.2f", b-a}')
  R[$k.hwm]=$(hwm_kib "$pid")   # the peak over start and the four reloads
  stop_proc failoverd-10k
}

if want config && [ "$PEERS_ONLY" = 0 ]; then
  run_config small "$SERVICES" "$CFG_TIMEOUT"
  run_config large "$SERVICES_LARGE" "$CFG_TIMEOUT_LARGE"
fi

# ---------------------------------------------------------------- multi-site
# Three failoverd nodes on one etcd (like examples/multi-site/ and `make run-sites`), each its own
# site probing from its own loopback address (probe_source 127.0.0.21-23), quorum majority, and
# one single node (no etcd) with the same service, all probing the same targets at the same time.
ETCD_PORT=23791 ETCD_PEER=23801
SITE_NAMES=(a b c) SITE_DNS=(5311 5312 5313) SITE_API=(18061 18062 18063)
SINGLE_PORT=5314 SINGLE_API=18064
SITES_LEASE=${SITES_LEASE:-3s}
SITES_TARGETS=${SITES_TARGETS:-10000}
SITES_SETTLE=${SITES_SETTLE:-30}
SITES_SETTLE_MAX=${SITES_SETTLE_MAX:-180}
SITES_WINDOW=${SITES_WINDOW:-60}
SITES_WRITE_PORT=9000
SITES_HPORT=8090   # the health targets of www (not 8080: the other sections can run beside)

site_config() { # file site-index|single etcd-prefix [extra HCL file]
  local f=$1 i=$2 prefix=$3 extra=${4:-} site port api src etcd=""
  if [ "$i" = single ]; then site=single port=$SINGLE_PORT api=$SINGLE_API src=127.0.0.24
  else
    site=${SITE_NAMES[$i]} port=${SITE_DNS[$i]} api=${SITE_API[$i]} src=127.0.0.$(( 21 + i ))
    etcd="etcd {
  endpoints = [\"http://127.0.0.1:$ETCD_PORT\"]
  prefix    = \"$prefix\"
  lease_ttl = \"$SITES_LEASE\"
  quorum    = \"majority\"
}"
  fi
  mkdir -p "$(dirname "$f")"
  cat >"$f" <<EOF
server {
  site         = "$site"
  hostname     = "ns1.example.com"
  probe_source = "$src"
  state_dir    = "$(dirname "$f")/state"
}
dns { listen = ["127.0.0.1:$port"] }
api { listen = "127.0.0.1:$api" }
$etcd
zone "example.com" {
  record "static" {
    type  = "A"
    ttl   = 300
    rdata = ["192.0.2.1"]
  }
}
active_failover "www.example.com." {
  address       = "127.0.0.11"
  failover_data = "127.0.0.12"
  ttl           = 0
  monitor {
    protocol = "HTTP"
    interval = "1s"
    timeout  = "500ms"
    retries  = 0
    port     = $SITES_HPORT
    path     = "/health"
  }
}
EOF
  [ -z "$extra" ] || cat "$extra" >>"$f"
}

# SITES_TARGETS services whose primaries are TCP targets that never change (benchtool listen:
# 127.(60+i/62500).(i/250%250).(i%250+1):9000), interval 10 s; the backup is never probed.
gen_steady_services() { # file
  awk -v n="$SITES_TARGETS" -v port=$SITES_WRITE_PORT '
  BEGIN{
    for (i = 1; i <= n; i++)
      printf "active_failover \"t%d.example.com.\" {\n  address       = \"127.%d.%d.%d\"\n  failover_data = \"127.0.0.12\"\n  monitor {\n    protocol = \"TCP\"\n    interval = \"10s\"\n    timeout  = \"5s\"\n    port     = %d\n  }\n}\n", i, 60 + int(i/62500), int(i/250)%250, i%250 + 1, port
  }' >"$1"
}
steady_addr() { echo "127.$(( 60 + $1 / 62500 )).$(( $1 / 250 % 250 )).$(( $1 % 250 + 1 ))"; }

start_sites() { # etcd-prefix [extra HCL file]: start the three nodes, wait until they agree on a leader
  local i
  for i in 0 1 2; do
    site_config "$W/sites/${SITE_NAMES[$i]}/failoverd.hcl" "$i" "$1" "${2:-}"
    need_free udp "${SITE_DNS[$i]}"; need_free tcp "${SITE_API[$i]}"
    start_proc "site-${SITE_NAMES[$i]}" - "$ROOT/bin/failoverd" run -config "$W/sites/${SITE_NAMES[$i]}/failoverd.hcl"
  done
  for i in 0 1 2; do
    WAIT_TIMEOUT=$CFG_TIMEOUT wait_answer "${SITE_DNS[$i]}" static.example.com >/dev/null || { tail -20 "$W/logs/site-${SITE_NAMES[$i]}.log" >&2; exit 1; }
  done
  "$BT" sites -api "$SITES_APIS" -count 3 -timeout 60s >/dev/null || { tail -5 "$W"/logs/site-*.log >&2; exit 1; }
}
stop_sites() { local n; for n in "${SITE_NAMES[@]}"; do stop_proc "site-$n"; done; }
etcd_revision() { curl -sf -m 2 -X POST "http://127.0.0.1:$ETCD_PORT/v3/kv/range" -d '{"key":"AA=="}' | sed -n 's/.*"revision":"\([0-9]*\)".*/\1/p'; }
etcd_writes() { # puts + deletes + txns so far
  curl -sf -m 2 "http://127.0.0.1:$ETCD_PORT/metrics" | awk '/^etcd_mvcc_(put|delete|txn)_total /{s+=$2} END{printf "%.0f", s}'
}

if want sites && [ "$PEERS_ONLY" = 0 ]; then
  if ! command -v etcd >/dev/null; then
    log "installing from Debian: etcd-server"
    sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
    DEBIAN_FRONTEND=noninteractive $sudo apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends etcd-server >/dev/null
  fi
  SITES_DNS=$(printf '127.0.0.1:%s,' "${SITE_DNS[@]}"); SITES_DNS=${SITES_DNS%,}
  SITES_APIS=$(printf '127.0.0.1:%s,' "${SITE_API[@]}"); SITES_APIS=${SITES_APIS%,}
  need_free tcp $ETCD_PORT; need_free tcp $ETCD_PEER
  log "sites: etcd on 127.0.0.1:$ETCD_PORT, three nodes (lease_ttl $SITES_LEASE) and a single node"
  start_proc etcd - etcd --name bench --data-dir "$W/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER" \
    --initial-cluster "bench=http://127.0.0.1:$ETCD_PEER" --initial-cluster-state new --log-level warn
  for _ in $(seq 1 100); do curl -sf -m 1 "http://127.0.0.1:$ETCD_PORT/health" >/dev/null && break; sleep 0.1; done
  curl -sf -m 1 "http://127.0.0.1:$ETCD_PORT/health" >/dev/null || { tail -20 "$W/logs/etcd.log" >&2; exit 1; }

  # (a) kill → backup: the last of the three nodes against the single node, same kills
  need_free tcp $SITES_HPORT
  start_sites /bench-failover/
  site_config "$W/sites/single/failoverd.hcl" single ""
  need_free udp $SINGLE_PORT; need_free tcp $SINGLE_API
  start_proc site-single - "$ROOT/bin/failoverd" run -config "$W/sites/single/failoverd.hcl"
  wait_answer $SINGLE_PORT static.example.com >/dev/null || { tail -20 "$W/logs/site-single.log" >&2; exit 1; }
  log "sites: kill → backup on three nodes (the last to switch) and on the single node, $TRIALS cycles"
  "$BT" failover -dns "$SITES_DNS" -ref "127.0.0.1:$SINGLE_PORT" -name www.example.com -hport $SITES_HPORT -trials "$TRIALS" \
    -settle 1s -hold 2s -phase 2s >"$W/results/sites-failover.txt" 2>"$W/logs/sites-failover.err" \
    || { cat "$W/results/sites-failover.txt" "$W/logs/sites-failover.err" >&2; exit 1; }
  stop_proc site-single
  for k in FAILOVER_S RECOVERY_S REF_FAILOVER_S REF_RECOVERY_S EXTRA_FAILOVER_S; do
    R[sites.$k]=$(awk -v k=$k '$1==k{print $2, $3, $4, $5}' "$W/results/sites-failover.txt")
  done
  log "  three nodes: ${R[sites.FAILOVER_S]}; single: ${R[sites.REF_FAILOVER_S]}; extra: ${R[sites.EXTRA_FAILOVER_S]}"

  # (c) kill -9 the leader and the primary's target at once: time until the two survivors agree on
  # a new leader, and until both serve the backup (a decision only a leader makes)
  log "sites: kill -9 the leader and the primary target together, $TRIALS times"
  start_proc target-backup - "$BT" targets -addr 127.0.0.12:$SITES_HPORT
  : >"$W/results/sites-leader.txt"
  for trial in $(seq 1 "$TRIALS"); do
    start_proc target-primary - "$BT" targets -addr 127.0.0.11:$SITES_HPORT
    # steadily: a node may still serve the primary from before the last phase's targets went away
    "$BT" wait -dns "$SITES_DNS" -name www.example.com -want 127.0.0.11 -stable 3s -timeout 60s >/dev/null \
      || { echo "sites: the primary was not served again on every node" >&2; exit 1; }
    old=$("$BT" sites -api "$SITES_APIS" -count 3 -timeout 60s | awk '{print $2}')
    sleep "$(awk -v r=$RANDOM 'BEGIN{printf "%.2f", r % 1000 / 1000}')"   # any point of the probe interval
    li=-1; for i in 0 1 2; do [ "${SITE_NAMES[$i]}" = "$old" ] && li=$i; done
    [ $li -ge 0 ] || { echo "sites: unknown leader '$old'" >&2; exit 1; }
    sdns="" sapi=""
    for i in 0 1 2; do [ $i = $li ] || { sdns+=",127.0.0.1:${SITE_DNS[$i]}"; sapi+=",127.0.0.1:${SITE_API[$i]}"; }; done
    lpid=${PIDS[site-$old]} tpid=${PIDS[target-primary]}
    t0=$(date +%s%N)
    kill -9 "$lpid" "$tpid"
    wait "$lpid" "$tpid" 2>/dev/null || true
    unset "PIDS[site-$old]" "PIDS[target-primary]"
    "$BT" sites -api "${sapi#,}" -not "$old" -since "$t0" -poll 10ms -timeout 60s >"$W/results/sites-leader-$trial.txt" 2>&1 &
    PIDS[sites-leader]=$!
    dec=$("$BT" wait -dns "${sdns#,}" -name www.example.com -want 127.0.0.12 -since "$t0" -poll 10ms -timeout 60s) || dec=nan
    wait "${PIDS[sites-leader]}" || true; unset "PIDS[sites-leader]"
    read -r lead new < <(awk 'NR==1 && NF==2 {print $1, $2}' "$W/results/sites-leader-$trial.txt") || true
    echo "trial $trial: killed leader $old; new leader ${new:-none} after ${lead:-nan}s; backup served by both survivors after ${dec}s" >>"$W/results/sites-leader.txt"
    log "  $(tail -1 "$W/results/sites-leader.txt")"
    # the killed site comes back (its lease has expired by now) before the next trial
    start_proc "site-$old" - "$ROOT/bin/failoverd" run -config "$W/sites/$old/failoverd.hcl"
    WAIT_TIMEOUT=$CFG_TIMEOUT wait_answer "${SITE_DNS[$li]}" static.example.com >/dev/null || { tail -20 "$W/logs/site-$old.log" >&2; exit 1; }
    "$BT" sites -api "$SITES_APIS" -count 3 -timeout 60s >/dev/null || { tail -5 "$W"/logs/site-*.log >&2; exit 1; }
  done
  stop_proc target-primary; stop_proc target-backup
  lead_s() { sed -n 's/.* after \([0-9.]*\)s; backup.*/\1/p' "$W/results/sites-leader.txt"; }
  dec_s() { sed -n 's/.*survivors after \([0-9.]*\)s$/\1/p' "$W/results/sites-leader.txt"; }
  R[sites.leader]=$(lead_s | median) R[sites.leader_range]=$(lead_s | range)
  R[sites.resume]=$(dec_s | median) R[sites.resume_range]=$(dec_s | range) R[sites.resume_n]=$(dec_s | wc -l)
  stop_sites

  # (b) etcd writes with SITES_TARGETS steady TCP targets at 10 s
  log "sites: etcd writes with $SITES_TARGETS steady TCP targets at 10 s: settle ${SITES_SETTLE}s, count over ${SITES_WINDOW}s"
  need_free tcp $SITES_WRITE_PORT
  start_proc steady-targets - "$BT" listen -n "$SITES_TARGETS" -base 60 -port $SITES_WRITE_PORT
  for _ in $(seq 1 150); do grep -q listening "$W/logs/steady-targets.log" && break; kill -0 "${PIDS[steady-targets]}" || break; sleep 0.2; done
  grep -q listening "$W/logs/steady-targets.log" || { cat "$W/logs/steady-targets.log" >&2; exit 1; }
  gen_steady_services "$W/sites/steady.hcl"
  start_proc target-www - "$BT" targets -addr 127.0.0.11:$SITES_HPORT -addr 127.0.0.12:$SITES_HPORT
  start_sites /bench-writes/ "$W/sites/steady.hcl"
  last=t$SITES_TARGETS.example.com
  "$BT" wait -dns "$SITES_DNS" -name "$last" -want "$(steady_addr "$SITES_TARGETS")" -timeout "$CFG_TIMEOUT" >/dev/null \
    || { echo "sites: $last never answered its primary on every node" >&2; exit 1; }
  # settled: SITES_SETTLE seconds, then until a 10 s probe interval adds fewer etcd operations
  # than a tenth of the targets (the start writes every target's first observation, and the
  # leader an event and its delivery per service: tens of thousands of operations), plus one more
  # interval; at most SITES_SETTLE_MAX seconds, after which the window is counted anyway (a
  # deployment that writes that much in steady state never settles, and the figure says so)
  sleep "$SITES_SETTLE"
  settled=$SITES_SETTLE wa=$(etcd_writes)
  while [ "$settled" -lt "$SITES_SETTLE_MAX" ]; do
    sleep 10; settled=$(( settled + 10 )); wb=$(etcd_writes)
    [ $(( ${wb:-0} - ${wa:-0} )) -lt $(( SITES_TARGETS / 10 )) ] && break
    wa=$wb
  done
  sleep 10; settled=$(( settled + 10 ))
  R[sites.settled]=$settled
  "$BT" etcdkeys -endpoint "http://127.0.0.1:$ETCD_PORT" -prefix /bench-writes/ >"$W/results/sites-keys-0.txt" || true
  r0=$(etcd_revision) w0=$(etcd_writes) t0=$(date +%s%N)
  sleep "$SITES_WINDOW"
  r1=$(etcd_revision) w1=$(etcd_writes) t1=$(date +%s%N)
  "$BT" etcdkeys -endpoint "http://127.0.0.1:$ETCD_PORT" -prefix /bench-writes/ >"$W/results/sites-keys-1.txt" || true
  # which keys the writes went to: the growth of the summed key versions per key group
  R[sites.by_group]=$(awk 'NR==FNR{v[$1]=$3; next} {d=$3-v[$1]; if (d) printf "%s%s/ +%d", (n++ ? ", " : ""), $1, d}' \
    "$W/results/sites-keys-0.txt" "$W/results/sites-keys-1.txt")
  [ -n "$r0" ] && [ -n "$r1" ] || { echo "sites: could not read etcd's revision" >&2; exit 1; }
  R[sites.rev_rate]=$(awk -v a="$r0" -v b="$r1" -v t0="$t0" -v t1="$t1" 'BEGIN{printf "%.2f", (b-a)/((t1-t0)/1e9)/3}')
  R[sites.ops_rate]=$(awk -v a="$w0" -v b="$w1" -v t0="$t0" -v t1="$t1" 'BEGIN{printf "%.2f", (b-a)/((t1-t0)/1e9)/3}')
  R[sites.rev_delta]="revision $r0 → $r1: $(( r1 - r0 )) revisions, $(( w1 - w0 )) puts+deletes+txns in $(awk -v t0="$t0" -v t1="$t1" 'BEGIN{printf "%.1f", (t1-t0)/1e9}') s"
  # the targets never changed: every node still serves the primaries
  R[sites.still_up]=yes
  for n in 1 $(( (SITES_TARGETS + 1) / 2 )) "$SITES_TARGETS"; do
    "$BT" wait -dns "$SITES_DNS" -name "t$n.example.com" -want "$(steady_addr "$n")" -timeout 5s >/dev/null || R[sites.still_up]="no: t$n not served its primary"
  done
  for i in 0 1 2; do R[sites.rss_${SITE_NAMES[$i]}]=$(rss_kib "${PIDS[site-${SITE_NAMES[$i]}]}"); done
  log "  ${R[sites.rev_delta]}: ${R[sites.rev_rate]} revisions/s per site (${R[sites.ops_rate]} ops/s per site); primaries still served: ${R[sites.still_up]}"
  stop_sites; stop_proc target-www; stop_proc steady-targets; stop_proc etcd
fi

# ---------------------------------------------------------------- table
v() { echo "${R[$1]:-–}"; }
ratio() { # a b -> a/b with 2 decimals (2 digits below 0.1), or –
  awk -v a="${R[$1]:-}" -v b="${R[$2]:-}" 'BEGIN{ if (a == "" || b == "" || b+0 == 0) print "–"; else { r = a/b; printf (r < 0.1 && r > -0.1 ? "%.2g" : "%.2f"), r } }'
}
fo_med() { sed -n 's/.*median=\([-0-9.]*\).*/\1/p' <<<"${R[$1]:-}"; }
fo_cell() { # key -> "median [min–max] (n)"
  local x=${R[$1]:-}; [ -n "$x" ] || { echo "–"; return; }
  awk '{for(i=1;i<=NF;i++){split($i,kv,"="); v[kv[1]]=kv[2]} printf "%s [%s–%s] (n=%s)", v["median"], v["min"], v["max"], v["n"]}' <<<"$x"
}
fo_ratio() { awk -v a="$(fo_med "$1")" -v b="$(fo_med "$2")" 'BEGIN{ if (a == "" || b == "" || b+0 == 0) print "–"; else { r = a/b; printf (r < 0.1 && r > -0.1 ? "%.2g" : "%.2f"), r } }'; }

{
  echo "## make bench — $(date -u +%FT%TZ)"
  echo
  echo "machine: $(nproc) CPUs, $(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo), kernel $(uname -r), $(. /etc/os-release; echo "$PRETTY_NAME");" \
    "load average at start ${LOAD_START:-$(cut -d' ' -f1-3 /proc/loadavg)}"
  echo "versions: $(dpkg-query -W -f '${Package} ${Version}, ' gdnsd knot pdns-server dnsperf etcd-server 2>/dev/null)failoverd $([ "$PEERS_ONLY" = 1 ] && echo "not run" || "$ROOT/bin/failoverd" version 2>/dev/null | awk '{print $2}')"
  echo "commit: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$ROOT" diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)'); sections run: $SECTIONS$([ "$QUICK" = 1 ] && echo '; --quick (small counts, figures meaningless)')"
  echo
  echo "### Every figure"
  echo
  echo "Medians; ratios are failoverd / peer (qps > 1 and everything else < 1 favour failoverd). \"skipped\": the section was not asked for (--only); \"not measured\": it ran but gave no figure. Details and ranges in the tables below."
  echo
  echo "| figure | failoverd | peer, same run | failoverd / peer | goal | command |"
  echo "|---|---|---|---|---|---|"
  sec_cmd() { echo "\`bash bench/run.sh --only $1\`"; }
  # cell section value [unit]: the value, or why there is none
  cell() { if ! want "$1"; then echo "skipped"; elif [ -z "$2" ] || [ "$2" = – ] || [ "$2" = n/a ]; then echo "not measured"; else echo "$2${3:-}"; fi; }
  row() { echo "| $1 | $2 | $3 | $4 | $5 | $6 |"; }
  q() { cell qps "${R[$1]:-}" "${2:-}"; }
  for n in static www; do
    nl=$n; [ $n = www ] && nl="health-checked www"
    for p in gdnsd knot pdns-shared; do
      [ $n = www ] && [ $p = knot ] && continue
      pl=$p; [ $p = pdns-shared ] && pl="PowerDNS lua=shared"
      row "CPU per query, $nl (server µs/q), vs $pl" "$(q failoverd.$n.us)" "$(q $p.$n.us)" "$(q_ratio=$(ratio failoverd.$n.us $p.$n.us); cell qps "$q_ratio")" "–" "$(sec_cmd qps)"
      row "queries/s, $nl, one core, vs $pl" "$(q failoverd.$n.qps)" "$(q $p.$n.qps)" "$(cell qps "$(ratio failoverd.$n.qps $p.$n.qps)")" "–" "$(sec_cmd qps)"
    done
  done
  f() { cell failover "$(fo_med "$1")" " s"; }
  row "kill → backup, 1 s checks (PowerDNS's minimum)" "$(f failoverd-1s.fo)" "pdns lua=yes $(f pdns.fo)" "$(cell failover "$(fo_ratio failoverd-1s.fo pdns.fo)")" "–" "$(sec_cmd failover)"
  row "restart → primary, 1 s checks" "$(f failoverd-1s.rec)" "pdns lua=yes $(f pdns.rec)" "$(cell failover "$(fo_ratio failoverd-1s.rec pdns.rec)")" "–" "$(sec_cmd failover)"
  row "kill → backup, 2 s checks (gdnsd's minimum)" "$(f failoverd-2s.fo)" "gdnsd $(f gdnsd.fo)" "$(cell failover "$(fo_ratio failoverd-2s.fo gdnsd.fo)")" "–" "$(sec_cmd failover)"
  row "kill → backup, \`watch = true\` at a 10 s interval" "$(f failoverd-watch.fo)" "pdns lua=yes at 1 s $(f pdns.fo)" "$(cell failover "$(fo_ratio failoverd-watch.fo pdns.fo)")" "≤ 0.1 s" "$(sec_cmd failover)"
  d() { cell dnssec "${R[$1]:-}" "${2:-}"; }
  row "DNSSEC online signing: www µs/q with DO / without" "$(cell dnssec "$(ratio failoverd-signed.www-do.us failoverd-signed.www.us)")" "pdns signed: $(cell dnssec "$(ratio pdns-signed.www-do.us pdns-signed.www.us)")" "–" "≤ 1.3" "$(sec_cmd dnssec)"
  row "DNSSEC: static µs/q with DO" "$(d failoverd-signed.static-do.us)" "pdns signed $(d pdns-signed.static-do.us)" "$(cell dnssec "$(ratio failoverd-signed.static-do.us pdns-signed.static-do.us)")" "–" "$(sec_cmd dnssec)"
  row "DNSSEC: kill → backup in the signed zone (DO), 1 s checks" "$(cell dnssec "$(fo_med dnssec-signed.fo)" " s")" "failoverd unsigned $(cell dnssec "$(fo_med dnssec-unsigned.fo)" " s")" "$(cell dnssec "$(fo_ratio dnssec-signed.fo dnssec-unsigned.fo)")" "–" "$(sec_cmd dnssec)"
  p() { cell probe "${R[$1]:-}" "${2:-}"; }
  row "probe capacity: $PROBE_TARGETS HTTP targets at 10 s, CPU" "$(p probe.cpu ' cores')" "–" "–" "–" "$(sec_cmd probe)"
  row "probe capacity: schedule lateness p99" "$(p probe.p99)" "–" "–" "–" "$(sec_cmd probe)"
  row "probe capacity: peak RSS" "$(cell probe "$(awk -v a="${R[probe.rss]:-}" 'BEGIN{if (a != "") printf "%.0f", a/1024}')" ' MiB')" "–" "–" "–" "$(sec_cmd probe)"
  for sz in small large; do
    k=cfg.$sz; n=$SERVICES; [ $sz = large ] && n=$SERVICES_LARGE
    c() { cell config "${R[$1]:-}" "${2:-}"; }
    mib() { awk -v a="${R[$1]:-}" 'BEGIN{if (a == "") print "?"; else printf "%.0f MiB", a/1024}'; }
    row "$n services: \`failoverd validate\` wall / CPU" "$(cell config "${R[$k.validate]:+${R[$k.validate]} s / ${R[$k.validate_cpu]:-?} s}")" "–" "–" "–" "$(sec_cmd config)"
    row "$n services: start → last service answers" "$(c $k.start ' s')" "–" "–" "–" "$(sec_cmd config)"
    row "$n services: SIGHUP reload → new answer (under queries)" "$(c $k.reload ' s')" "–" "–" "–" "$(sec_cmd config)"
    row "$n services: queries failed during 3 reloads" "$(cell config "${R[$k.failed]:+${R[$k.failed]} of ${R[$k.queries]:-?}}")" "–" "–" "0" "$(sec_cmd config)"
    row "$n services: peak RSS (VmHWM) validate / run incl. reloads" "$(cell config "${R[$k.hwm]:+$(mib $k.validate_hwm) / $(mib $k.hwm)}")" "–" "–" "–" "$(sec_cmd config)"
  done
  s() { cell sites "${R[$1]:-}" "${2:-}"; }
  row "3 sites on etcd: kill → backup served by every node, 1 s checks" "$(cell sites "$(fo_med sites.FAILOVER_S)" ' s')" "one node $(cell sites "$(fo_med sites.REF_FAILOVER_S)" ' s')" "$(cell sites "$(fo_ratio sites.FAILOVER_S sites.REF_FAILOVER_S)")" "≤ one node + 0.2 s (extra, per kill: $(cell sites "$(fo_med sites.EXTRA_FAILOVER_S)" ' s'))" "$(sec_cmd sites)"
  row "3 sites: etcd writes/s per site, $SITES_TARGETS steady TCP targets at 10 s" "$(cell sites "${R[sites.rev_rate]:+${R[sites.rev_rate]} write txns/s (${R[sites.ops_rate]:-?} puts+deletes+txns/s)}")" "–" "–" "< 5" "$(sec_cmd sites)"
  row "3 sites: leader killed with kill -9 → decisions resume (backup served)" "$(s sites.resume ' s')" "–" "–" "≤ lease_ttl $SITES_LEASE + 1 s" "$(sec_cmd sites)"
  row "3 sites: leader killed with kill -9 → new leader agreed" "$(s sites.leader ' s')" "–" "–" "–" "$(sec_cmd sites)"
  if want qps; then
    echo
    echo "### DNS queries/s and server CPU per answered query"
    echo "server pinned to CPU $SERVER_CPU (failoverd GOMAXPROCS=1), dnsperf -c 10 -q 200 on CPU $CLIENT_CPU, $RUNS x ${DURATION}s per name, median [range]; µs/q = server on-CPU time / answered queries"
    echo
    echo "| server | static qps | static µs/q | www (health-checked) qps | www µs/q | lost | failoverd/this: static qps | static µs/q | www qps | www µs/q |"
    echo "|---|---|---|---|---|---|---|---|---|---|"
    for s in "${SERVERS[@]}"; do
      if [ "$s" = failoverd ]; then rs=" | | | "; else
        rs="$(ratio failoverd.static.qps "$s.static.qps") | $(ratio failoverd.static.us "$s.static.us") | $(ratio failoverd.www.qps "$s.www.qps") | $(ratio failoverd.www.us "$s.www.us")"; fi
      lbl=$s; case $s in pdns) lbl="pdns lua=yes";; pdns-shared) lbl="pdns lua=shared";; knot) lbl="knot (static ceiling: no health checks)";; esac
      echo "| $lbl | $(v "$s.static.qps") [$(v "$s.static.qps_range")] | $(v "$s.static.us") | $(v "$s.www.qps") [$(v "$s.www.qps_range")] | $(v "$s.www.us") | $(( ${R[$s.static.lost]:-0} + ${R[$s.www.lost]:-0} )) | $rs |"
    done
    echo
    echo "ratios: qps > 1 and µs/q < 1 favour failoverd. Server CPU % (static / www): $(for s in "${SERVERS[@]}"; do printf '%s %s/%s%%; ' "$s" "$(v "$s.static.cpu")" "$(v "$s.www.cpu")"; done)"
  fi
  if want floor; then
    echo
    echo "### Go UDP floor (bench/udpfloor: one pre-packed answer, GOMAXPROCS=1, same pinning and dnsperf as above)"
    echo
    echo "| I/O style | qps | µs/q | server CPU % |"
    echo "|---|---|---|---|"
    for m in "${FLOOR_MODES[@]}"; do
      echo "| $m | $(v "floor-$m.static.qps") [$(v "floor-$m.static.qps_range")] | $(v "floor-$m.static.us") | $(v "floor-$m.static.cpu") |"
    done
  fi
  if want failover; then
    echo
    echo "### Failover reaction (seconds; kill = primary's HTTP target closed, $TRIALS cycles, DNS polled every 10 ms)"
    echo
    echo "| server | check settings (fastest it supports) | kill → backup | restart → primary | failoverd/this (kill, restart) |"
    echo "|---|---|---|---|---|"
    echo "| gdnsd | http_status interval 2 s (min), timeout 1 s, up/ok/down_thresh 1; +1 s update coalescing | $(fo_cell gdnsd.fo) | $(fo_cell gdnsd.rec) | $(fo_ratio failoverd-2s.fo gdnsd.fo), $(fo_ratio failoverd-2s.rec gdnsd.rec) |"
    [ "$PEERS_ONLY" = 1 ] || echo "| failoverd, gdnsd's settings | interval 2s, timeout 1s, retries 0 | $(fo_cell failoverd-2s.fo) | $(fo_cell failoverd-2s.rec) | |"
    echo "| pdns lua=yes | lua-health-checks-interval=1 (min), timeout='1' (min), one check flips | $(fo_cell pdns.fo) | $(fo_cell pdns.rec) | $(fo_ratio failoverd-1s.fo pdns.fo), $(fo_ratio failoverd-1s.rec pdns.rec) |"
    [ "$PEERS_ONLY" = 1 ] || echo "| failoverd, pdns's settings | interval 1s (min), timeout 500ms (must be < interval), retries 0 | $(fo_cell failoverd-1s.fo) | $(fo_cell failoverd-1s.rec) | |"
    [ "$PEERS_ONLY" = 1 ] || echo "| failoverd, \`watch = true\` | interval 10s, timeout 5s, retries 0; an idle connection to each target between rounds | $(fo_cell failoverd-watch.fo) | $(fo_cell failoverd-watch.rec) | against pdns at 1 s: $(fo_ratio failoverd-watch.fo pdns.fo), $(fo_ratio failoverd-watch.rec pdns.rec) |"
  fi
  if want dnssec; then
    echo
    echo "### DNSSEC: online signing (same zone signed, ECDSAP256SHA256; server µs/q with DO against without, in one run)"
    echo "same pinning and dnsperf as the qps table, $RUNS x ${DURATION}s per name and mode, median [range]; DO = dnsperf -D (EDNS, DNSSEC OK)"
    echo
    echo "| server, signed zone | name | no DO qps | no DO µs/q | DO qps | DO µs/q | DO / no DO µs/q | lost |"
    echo "|---|---|---|---|---|---|---|---|"
    for s in "${DNSSEC_SERVERS[@]}"; do
      lbl=$s; case $s in failoverd-signed) lbl="failoverd dnssec {}";; pdns-signed) lbl="pdns lua=shared, bind-dnssec-db";; esac
      for n in static www; do
        nl=$n; [ $n = www ] && nl="www (health-checked)"
        if [ "${R[$s.$n.signs]:-}" = yes ]; then
          echo "| $lbl | $nl | $(v "$s.$n.qps") [$(v "$s.$n.qps_range")] | $(v "$s.$n.us") | $(v "$s.$n-do.qps") [$(v "$s.$n-do.qps_range")] | $(v "$s.$n-do.us") | $(ratio "$s.$n-do.us" "$s.$n.us") | $(( ${R[$s.$n.lost]:-0} + ${R[$s.$n-do.lost]:-0} )) |"
        else
          echo "| $lbl | $nl | $(v "$s.$n.qps") [$(v "$s.$n.qps_range")] | $(v "$s.$n.us") | not supported (unsigned answer to DO) | – | – | $(v "$s.$n.lost") |"
        fi
      done
    done
    if [ "$PEERS_ONLY" = 0 ]; then
      echo
      echo "failoverd/pdns, signed zone: static DO µs/q $(ratio failoverd-signed.static-do.us pdns-signed.static-do.us), www DO µs/q $(ratio failoverd-signed.www-do.us pdns-signed.www-do.us) (< 1 favours failoverd). Target: failoverd www DO / no DO ≤ 1.3."
      echo
      echo "| failoverd, interval 1s, timeout 500ms, retries 0 | kill → backup | restart → primary | signed / unsigned (kill, restart) |"
      echo "|---|---|---|---|"
      echo "| unsigned zone | $(fo_cell dnssec-unsigned.fo) | $(fo_cell dnssec-unsigned.rec) | |"
      echo "| signed zone (DO queries; counted when the answer comes with its RRSIG) | $(fo_cell dnssec-signed.fo) | $(fo_cell dnssec-signed.rec) | $(fo_ratio dnssec-signed.fo dnssec-unsigned.fo), $(fo_ratio dnssec-signed.rec dnssec-unsigned.rec) |"
    fi
  fi
  if want probe; then
    echo
    echo "### Probe capacity (bench/probescale: the probe scheduler alone, HTTP targets on loopback in a child process)"
    echo
    if [ -n "${R[probe.rounds]:-}" ]; then
      echo "| figure | value |"
      echo "|---|---|"
      echo "| rounds/s at $PROBE_TARGETS HTTP targets, interval 10 s, ${PROBE_SECS} s | ${R[probe.rounds]} (down: ${R[probe.down]:-?}) |"
      echo "| schedule lateness p50 / p99 (after the first interval) | ${R[probe.p50]:-?} / ${R[probe.p99]:-?} |"
      echo "| CPU of the prober | ${R[probe.cpu]:-?} cores |"
      echo "| peak RSS at $PROBE_TARGETS / at 100 targets | ${R[probe.rss]:-?} / ${R[probe.rss100]:-?} KiB |"
      echo "| memory per target ((RSS − RSS at 100) / $(( PROBE_TARGETS - 100 ))) | $(awk -v a="${R[probe.rss]:-0}" -v b="${R[probe.rss100]:-0}" -v n="$(( PROBE_TARGETS - 100 ))" 'BEGIN{printf "%.2f KiB", (a-b)/n}') |"
      echo
    fi
    echo '```'
    echo "${R[probe.out]:-–}"
    echo '```'
  fi
  if want config && [ "$PEERS_ONLY" = 0 ]; then
    echo
    echo "### Configuration size (active_failover services, monitor NONE)"
    echo
    echo "| figure | $SERVICES services ($(v cfg.small.size) KiB of HCL) | $SERVICES_LARGE services ($(v cfg.large.size) KiB) |"
    echo "|---|---|---|"
    cr() { echo "| $1 | $2 | $3 |"; }
    mib() { awk -v a="${R[$1]:-}" 'BEGIN{if (a == "") print "–"; else printf "%.0f MiB", a/1024}'; }
    cr "\`failoverd validate\` (median of 3): wall / CPU" "$(v cfg.small.validate) s / $(v cfg.small.validate_cpu) s" "$(v cfg.large.validate) s / $(v cfg.large.validate_cpu) s"
    cr "start → last service answers: wall / daemon CPU so far" "$(v cfg.small.start) s / $(v cfg.small.start_cpu) s" "$(v cfg.large.start) s / $(v cfg.large.start_cpu) s"
    cr "SIGHUP → changed answer served, under 4 query loops (median of 3 [range])" "$(v cfg.small.reload) s [$(v cfg.small.reload_range)]" "$(v cfg.large.reload) s [$(v cfg.large.reload_range)]"
    cr "SIGHUP → changed answer served, no query load: wall / daemon CPU (incl. 1 s after)" "$(v cfg.small.reload_quiet) s / $(v cfg.small.reload_quiet_cpu) s" "$(v cfg.large.reload_quiet) s / $(v cfg.large.reload_quiet_cpu) s"
    cr "queries failed during the 3 reloads" "$(v cfg.small.failed) of $(v cfg.small.queries)" "$(v cfg.large.failed) of $(v cfg.large.queries)"
    cr "peak RSS (VmHWM): validate / start (at the first answer) / start and 4 reloads" "$(mib cfg.small.validate_hwm) / $(mib cfg.small.start_hwm) / $(mib cfg.small.hwm)" "$(mib cfg.large.validate_hwm) / $(mib cfg.large.start_hwm) / $(mib cfg.large.hwm)"
    cr "RSS 2 s after start / after 3 reloads" "$(mib cfg.small.rss) / $(mib cfg.small.rss_after)" "$(mib cfg.large.rss) / $(mib cfg.large.rss_after)"
    if [ -n "${R[failoverd.rss_small]:-}" ]; then
      per() { awk -v a="${R[$1]:-}" -v b="${R[failoverd.rss_small]}" -v n="$2" 'BEGIN{if (a == "") print "–"; else printf "%.1f KiB", (a-b)/n}'; }
      cr "memory per service ((RSS − RSS of the 1-service qps config) / services)" "$(per cfg.small.rss "$SERVICES")" "$(per cfg.large.rss "$SERVICES_LARGE")"
    fi
  fi
  if want sites && [ "$PEERS_ONLY" = 0 ]; then
    echo
    echo "### Several sites on etcd (three failoverd nodes, one etcd, one machine; lease_ttl $SITES_LEASE, quorum majority)"
    echo "each node probes from its own address (probe_source 127.0.0.21–23); a single node without etcd runs beside them, probing the same targets"
    echo
    echo "| figure | value |"
    echo "|---|---|"
    echo "| kill → backup served by the last of the three nodes, HTTP checks at 1 s, timeout 500ms, retries 0 | $(fo_cell sites.FAILOVER_S) |"
    echo "| the same kills, the single node | $(fo_cell sites.REF_FAILOVER_S) |"
    echo "| extra delay of the three nodes, per kill (three nodes − single node) | $(fo_cell sites.EXTRA_FAILOVER_S) (goal ≤ 0.2 s) |"
    echo "| restart → primary, three nodes / single node | $(fo_cell sites.RECOVERY_S) / $(fo_cell sites.REF_RECOVERY_S) |"
    echo "| leader killed with kill -9 (with the primary's target at the same moment) → the two others agree on a new leader | $(v sites.leader) s [$(v sites.leader_range)] |"
    echo "| the same → both others serve the backup (decisions resumed) | $(v sites.resume) s [$(v sites.resume_range)] (n=$(v sites.resume_n); goal ≤ lease_ttl + 1 s = $(awk -v l="${SITES_LEASE%s}" 'BEGIN{print l + 1}') s) |"
    echo "| etcd writes with $SITES_TARGETS TCP targets at 10 s that never change (after $(v sites.settled) s settling) | $(v sites.rev_rate) revisions/s per site, $(v sites.ops_rate) puts+deletes+txns/s per site ($(v sites.rev_delta), 3 sites; goal < 5) |"
    echo "| key writes in the window (growth of summed key versions, all sites) | $(v sites.by_group) |"
    echo "| primaries still served after the window | $(v sites.still_up) |"
    echo "| node RSS with $SITES_TARGETS targets (a / b / c) | $(v sites.rss_a) / $(v sites.rss_b) / $(v sites.rss_c) KiB |"
  fi
  echo
  echo "total bench time: $(( $(date +%s) - T_START )) s"
} >"$W/table.md"
cat "$W/table.md"
[ -z "${BENCH_OUT:-}" ] || cp "$W/table.md" "$BENCH_OUT"
