#!/usr/bin/env bash
# Runs the three-broker cluster of `make cluster` from the repository's root:
# brokers 1, 2 and 3 (cmd/sluiced/cluster/brokerN.properties), each also a
# controller, with their data under data/cluster/N. It builds nothing: `make
# cluster` builds bin/sluiced first (SLUICED names another binary).
#
# Each broker's log lines are prefixed with its id. Ctrl-C (SIGINT) or
# SIGTERM stops all three gracefully and waits for them. A broker that exits
# on its own (a crash, or a kill -9 to try failover) leaves the others
# running: its partitions move to them, and it can be started again by hand
# with the command printed. The script's exit status is 0 when every broker
# exited 0. It signals only the processes it started.
set -u

root=$(cd "$(dirname "$0")/../../.." && pwd)
cd "$root"
bin=${SLUICED:-./bin/sluiced}
if [[ ! -x $bin ]]; then
	echo "cluster: $bin is missing; run \`make cluster\` (it builds it)" >&2
	exit 2
fi

pids=()
ids=()

# prefix copies its input to stdout, each line preceded by "[N] ". It ignores
# SIGINT and SIGTERM so that a Ctrl-C cannot close a broker's stderr before
# the broker has logged its shutdown; it ends when the broker does.
prefix() {
	trap '' INT TERM
	exec sed -u "s/^/[$1] /"
}

stopping=0
# stop_all sends SIGTERM to every broker still running, waits for each and
# exits: 0 if every broker exited 0.
stop_all() {
	stopping=1
	trap '' INT TERM
	for i in "${!pids[@]}"; do
		kill -TERM "${pids[$i]}" 2>/dev/null
	done
	status=0
	for i in "${!pids[@]}"; do
		if [[ ${pids[$i]} == "${exited_pid:-}" ]]; then
			code=$exited_code
		else
			wait "${pids[$i]}"
			code=$?
		fi
		echo "[cluster] broker ${ids[$i]} (pid ${pids[$i]}) exited with status $code"
		[[ $code -eq 0 ]] || status=1
	done
	exit $status
}
trap stop_all INT TERM

for id in 1 2 3; do
	mkdir -p "data/cluster/$id"
	"$bin" --config "cmd/sluiced/cluster/broker$id.properties" > >(prefix "$id") 2>&1 &
	pids+=($!)
	ids+=("$id")
	echo "[cluster] started broker $id (pid $!): native 127.0.0.1:919$((1 + id)), Kafka 127.0.0.1:909$((1 + id)), controller 127.0.0.1:930$id"
done

# wait -n returns when one broker exits, or early when a trapped signal
# arrives (the trap then stops everything and exits). A broker that exits on
# its own is reported and the others keep running.
running=${#pids[@]}
while [[ $running -gt 0 ]]; do
	exited_pid=
	wait -n -p exited_pid "${pids[@]}"
	exited_code=$?
	[[ $stopping -eq 0 && -n $exited_pid ]] || continue
	for i in "${!pids[@]}"; do
		if [[ ${pids[$i]} == "$exited_pid" ]]; then
			echo "[cluster] broker ${ids[$i]} (pid $exited_pid) exited on its own (status $exited_code); the others keep running. Start it again with: $bin --config cmd/sluiced/cluster/broker${ids[$i]}.properties"
			unset 'pids[i]' 'ids[i]'
		fi
	done
	running=${#pids[@]}
done
echo "[cluster] every broker exited"; exit 1
