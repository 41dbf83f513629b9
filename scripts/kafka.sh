#!/usr/bin/env bash
# A single-node Apache Kafka 4.x broker (KRaft: broker and controller in one JVM) for tests, benchmarks
# and `nova` users without Docker. The jars come from Maven Central through scripts/kafka/pom.xml and
# stay cached under ~/.m2, so only the first run needs the network.
#
#   scripts/kafka.sh start [DIR] [--port N]   format DIR (once) and start; prints host:port on stdout
#   scripts/kafka.sh stop [DIR]               SIGTERM, then SIGKILL after 30 s
#   scripts/kafka.sh status [DIR]             prints host:port when running, exits 1 otherwise
#   scripts/kafka.sh fetch                    download the jars only; prints their folder
#   scripts/kafka.sh run CLASS [ARGS...]      run a Kafka tool class (e.g. org.apache.kafka.tools.ProducerPerformance)
#
# DIR defaults to $KAFKA_DIR or ./data/kafka. A stopped or killed broker restarts on its DIR with the same
# port and log. Needs java (17+) and mvn; only `start` with a new DIR picks free ports.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
POM="$ROOT/scripts/kafka/pom.xml"
VERSION="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$POM")"
HOME_DIR="${NOVA_KAFKA_HOME:-$HOME/.m2/nova-kafka/$VERSION}"
LIBS="$HOME_DIR/libs"

log() { echo "kafka.sh: $*" >&2; }
die() { log "$*"; exit 1; }

need_tools() {
  command -v java >/dev/null 2>&1 || die "java (17 or newer) is not installed"
  if [[ ! -f "$LIBS/.complete" ]]; then command -v mvn >/dev/null 2>&1 || die "mvn is not installed (needed once to fetch Kafka $VERSION)"; fi
}

fetch() {
  need_tools
  if [[ -f "$LIBS/.complete" ]]; then return 0; fi
  mkdir -p "$HOME_DIR"
  local tmp="$HOME_DIR/libs.tmp.$$"
  rm -rf "$tmp"
  log "fetching Apache Kafka $VERSION from Maven Central (first run only)…"
  local args=(-B -q -f "$POM" dependency:copy-dependencies -DoutputDirectory="$tmp" -DincludeScope=runtime)
  # Offline first: once the artifacts are in ~/.m2 no network is needed.
  if ! mvn -o "${args[@]}" >/dev/null 2>&1; then
    mvn "${args[@]}" >&2 || { rm -rf "$tmp"; die "mvn could not fetch Kafka $VERSION"; }
  fi
  touch "$tmp/.complete"
  rm -rf "$LIBS"
  mv "$tmp" "$LIBS"
}

java_run() {
  # Small heap: the machines running the tests are small and shared.
  java -Xms128m -Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$1" -cp "$LIBS/*" "${@:2}"
}

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

dir_arg() { local d="${1:-${KAFKA_DIR:-$ROOT/data/kafka}}"; mkdir -p "$d"; (cd "$d" && pwd); }

running_pid() {
  local pidfile="$1/kafka.pid"
  [[ -f "$pidfile" ]] || return 1
  local pid; pid="$(cat "$pidfile")"
  kill -0 "$pid" 2>/dev/null || return 1
  echo "$pid"
}

write_config() {
  local dir="$1" port="$2" cport="$3"
  cat >"$dir/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$dir/data
num.partitions=1
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
PROPS
  cat >"$dir/log4j2.properties" <<PROPS
rootLogger.level=INFO
rootLogger.appenderRef.file.ref=file
appender.file.type=File
appender.file.name=file
appender.file.fileName=$dir/server.log
appender.file.layout.type=PatternLayout
appender.file.layout.pattern=[%d] %p %m (%c)%n
logger.kafka.name=kafka
logger.kafka.level=INFO
logger.apache.name=org.apache.kafka
logger.apache.level=WARN
PROPS
}

address() { sed -n 's#^advertised.listeners=PLAINTEXT://##p' "$1/server.properties"; }

start() {
  local dir="" port=""
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --port) port="$2"; shift 2 ;;
      --port=*) port="${1#--port=}"; shift ;;
      *) dir="$1"; shift ;;
    esac
  done
  dir="$(dir_arg "$dir")"
  fetch
  if pid="$(running_pid "$dir")"; then
    log "already running (pid $pid)"
    address "$dir"
    return 0
  fi
  if [[ ! -f "$dir/data/meta.properties" ]]; then
    [[ -n "$port" ]] || port="$(free_port)"
    local cport; cport="$(free_port)"
    while [[ "$cport" == "$port" ]]; do cport="$(free_port)"; done
    write_config "$dir" "$port" "$cport"
    # A cluster id is a base64url UUID; one that starts with "-" would be read as an option, so draw again.
    local id; id="$(node -e 'const c=require("crypto");let i;do i=c.randomBytes(16).toString("base64url");while(i[0]==="-");console.log(i)')"
    java_run "$dir/log4j2.properties" kafka.tools.StorageTool format -t "$id" -c "$dir/server.properties" >"$dir/format.log" 2>&1 \
      || { cat "$dir/format.log" >&2; die "formatting $dir failed"; }
  fi
  : >"$dir/server.log"
  # setsid: the broker outlives this script and is stopped through its pid file.
  setsid bash -c 'echo $$ >"$1/kafka.pid"; shift; exec "$@"' _ "$dir" \
    java -Xms256m -Xmx768m -XX:+UseSerialGC -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$dir/log4j2.properties" -cp "$LIBS/*" \
    kafka.Kafka "$dir/server.properties" >"$dir/stdout.log" 2>&1 </dev/null &
  local deadline=$((SECONDS + ${KAFKA_START_TIMEOUT:-120}))
  while ! grep -q "Kafka Server started" "$dir/server.log" 2>/dev/null; do
    sleep 0.2
    if ! running_pid "$dir" >/dev/null && [[ -f "$dir/kafka.pid" ]]; then
      tail -n 30 "$dir/server.log" "$dir/stdout.log" >&2 || true
      die "the broker exited during start-up (logs in $dir)"
    fi
    if (( SECONDS > deadline )); then
      stop "$dir" >/dev/null 2>&1 || true
      die "the broker did not start within ${KAFKA_START_TIMEOUT:-120} s (logs in $dir)"
    fi
  done
  log "Kafka $VERSION running (pid $(cat "$dir/kafka.pid"), data in $dir)"
  address "$dir"
}

stop() {
  local dir; dir="$(dir_arg "${1:-}")"
  local pid
  if ! pid="$(running_pid "$dir")"; then
    rm -f "$dir/kafka.pid"
    log "not running"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + 30))
  while kill -0 "$pid" 2>/dev/null; do
    if (( SECONDS > deadline )); then kill -KILL "$pid" 2>/dev/null || true; fi
    sleep 0.2
  done
  rm -f "$dir/kafka.pid"
  log "stopped"
}

status() {
  local dir; dir="$(dir_arg "${1:-}")"
  running_pid "$dir" >/dev/null || exit 1
  address "$dir"
}

cmd="${1:-}"
[[ $# -gt 0 ]] && shift
case "$cmd" in
  start) start "$@" ;;
  stop) stop "$@" ;;
  status) status "$@" ;;
  fetch) fetch; echo "$LIBS" ;;
  run)
    [[ $# -ge 1 ]] || die "usage: kafka.sh run CLASS [ARGS...]"
    fetch
    cfg="$HOME_DIR/tools-log4j2.properties"
    [[ -f "$cfg" ]] || printf 'rootLogger.level=WARN\nrootLogger.appenderRef.err.ref=err\nappender.err.type=Console\nappender.err.name=err\nappender.err.target=SYSTEM_ERR\nappender.err.layout.type=PatternLayout\nappender.err.layout.pattern=%%p %%m%%n\n' >"$cfg"
    java_run "$cfg" "$@" ;;
  *) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
