#!/usr/bin/env bash
# bench/benchmarks.sh: run Sluice's benchmark suite and write BENCHMARKS.md
# from its outputs, with no hand editing.
#
#   bash bench/benchmarks.sh        (or: make bench)
#
# It also runs bench/cmd/metabench (topics created and deleted and leaders
# moved per second, single node and a cluster of three, against the quorum
# log store's synced appends), bench/cmd/replbench (a local cluster of three
# sluiced processes: produce with RF 3 and acks=all beside RF 1 and acks=1,
# and the failover time after kill -9 of a partition leader) and
# bench/cmd/baselinebench (today's single-node broker against the
# pre-cluster build 5795bbb, built from git, in interleaved rounds, and
# again against 5547d95, the build before issue 17's latency work) and
# bench/cmd/metricsbench (produce and consume throughput of a sluiced with
# metrics.listeners set and /metrics scraped every second, against one
# without, in blocks of off, on, on, off runs) and bench/cmd/cleanbench
# (log compaction: Partition.Clean of a 1 GiB partition with 10% unique
# keys beside a plain read of the same segments, and produce throughput
# on a sluiced while its cleaner runs against while it is idle) and
# bench/cmd/serdebench (on a sluiced with its schema registry: produce of
# orders serialised with serde.AvroSerializer and consume with
# serde.AvroDeserializer against the same values' raw bytes, and registry
# lookups a second from warm caches against uncached HTTP) and
# bench/cmd/latbench (e2e and produce-to-ack latency at 100,000 records/s
# and at half of the produce peak, durable produce from 1, 4 and 16
# producers against write+fdatasync, and durable latency against one
# fdatasync) and bench/cmd/partbench (partition scale, issue 19: for each
# partition count of a sweep up to 100,000, on a fresh sluiced, the create
# rate, descriptors, mappings, memory and disk per partition, restart after
# a clean shutdown and after kill -9, Metadata for one topic against all,
# and produce and fetch across 10,000 partitions against one; it stops
# the sweep, with its reason, at a failed create or before a point would
# leave less than 10 GB free); each prints its own section, pasted
# verbatim.
#
# Besides the engine and broker harnesses it runs the side-by-side suite of
# bench/peers (its own Go module: Sluice beside kfake, NATS JetStream and
# the machine's limits), whose section and charts it adds: the SVG charts
# go to docs/ beside BENCH_OUT, replaced only with BENCH_OUT.
#
# Every figure in the generated file is the verbatim output of the command
# printed above it; the summary tables are extracted from those same outputs
# by the awk programs below. Environment:
#
#   BENCH_DIR    where the harness writes its temporary data (default $TMPDIR
#                or /tmp); it needs about 5 GiB free (partbench uses what
#                more there is, less 10 GB, and stops its sweep there)
#   BENCH_OUT    the file to write (default BENCHMARKS.md at the repo root)
#   BENCH_RAW    keep the raw outputs in this directory (default: a temporary
#                directory, removed at the end)
#   BENCHTIME    -benchtime of the Go benchmarks (default 1s)
#   ROUNDS       rounds of the uncompressed, durable and roll figures (default 3)
#   CODEC_ROUNDS rounds of the lz4 and zstd figures (default 1)
#   BENCH_REUSE  if 1, run nothing: rewrite BENCH_OUT from the raw outputs a
#                previous run kept in BENCH_RAW (to change the layout without
#                measuring again)
#   BENCH_SMOKE  if 1, tiny volumes and -benchtime=1x, to test this script
#                quickly; the figures are meaningless, so BENCH_OUT then
#                defaults to $TMPDIR/BENCHMARKS.smoke.md
#
# The whole suite takes about 17 minutes on a 2-core VM (the peers suite
# about 1.5 of them, replbench about 2, metricsbench about 1.5, cleanbench
# about 2, serdebench about 1, latbench about 2, the second baselinebench about 1.5), and
# partbench about 11 more (its sweep to 100,000 partitions, 75 s of idle wait a point, at
# commit 608f8d9). BENCH_OUT is only replaced when every
# command has succeeded.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)
SMOKE=${BENCH_SMOKE:-0}
SMOKE_ARGS=()
if [[ $SMOKE == 1 ]]; then
	OUT=${BENCH_OUT:-${TMPDIR:-/tmp}/BENCHMARKS.smoke.md}
	BENCHTIME=${BENCHTIME:-1x}
	SMOKE_ARGS=(-bytes 16MiB -ring 4MiB)
else
	OUT=${BENCH_OUT:-$ROOT/BENCHMARKS.md}
	BENCHTIME=${BENCHTIME:-1s}
fi
DATA_DIR=${BENCH_DIR:-${TMPDIR:-/tmp}}
ROUNDS=${ROUNDS:-3}
CODEC_ROUNDS=${CODEC_ROUNDS:-1}
GO=${GO:-go}
# Lines of stderr (stall stacks) kept per figure; the rest is counted.
STDERR_LINES=60

REUSE=${BENCH_REUSE:-0}
if [[ $REUSE == 1 && ! -f ${BENCH_RAW:-}/suite.env ]]; then
	echo "benchmarks.sh: BENCH_REUSE=1 needs BENCH_RAW, the directory of a previous run's outputs" >&2
	exit 2
fi
if [[ -n ${BENCH_RAW:-} ]]; then
	RAW=$BENCH_RAW
	mkdir -p "$RAW"
else
	RAW=$(mktemp -d "${TMPDIR:-/tmp}/sluice-benchmarks.XXXXXX")
	trap 'rm -rf "$RAW"' EXIT
fi
mkdir -p "$DATA_DIR"

loadavg() { cut -d' ' -f1-4 /proc/loadavg; }
now() { date -u +%Y-%m-%dT%H:%M:%SZ; }
log() { printf 'benchmarks.sh: %s\n' "$*" >&2; }

# run ID CMD...: run CMD with stdout to $RAW/ID.out and stderr to
# $RAW/ID.err; $RAW/ID.cmd gets the command as typed, $RAW/ID.meta when it
# started and finished, its load averages and its wall time.
run() {
	local id=$1
	shift
	local cmd=""
	local a
	for a in "$@"; do
		# Quote only what needs it, so the printed command reads as typed.
		if [[ $a =~ ^[A-Za-z0-9_./=,:@%+-]+$ ]]; then
			cmd+="$a "
		else
			cmd+="'${a//\'/\'\\\'\'}' "
		fi
	done
	cmd=${cmd% }
	printf '%s\n' "$cmd" >"$RAW/$id.cmd"
	log "$(now) $id: $cmd"
	local t0 t1 started loadb
	started=$(now)
	loadb=$(loadavg)
	t0=$(date +%s.%N)
	if ! "$@" >"$RAW/$id.out" 2>"$RAW/$id.err"; then
		log "$id failed; its output:"
		cat "$RAW/$id.out" "$RAW/$id.err" >&2
		log "BENCHMARKS.md left unchanged"
		exit 1
	fi
	t1=$(date +%s.%N)
	printf 'started=%s\nload_before=%s\nfinished=%s\nload_after=%s\nseconds=%.1f\n' \
		"$started" "$loadb" "$(now)" "$(loadavg)" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" >"$RAW/$id.meta"
}

meta() { sed -n "s/^$2=//p" "$RAW/$1.meta"; }

# ---------------------------------------------------------------- the suite

# run_suite runs every command and records the suite's own facts in
# $RAW/suite.env, so that BENCH_REUSE=1 can render them again.
run_suite() {
	SUITE_START=$(now)
	SUITE_T0=$(date +%s)
	SUITE_LOAD=$(loadavg)
	# What is measured: the commit, and the files that differ from it.
	commit=$(git rev-parse --short HEAD)
	dirty=$(git status --porcelain -- . ':!BENCHMARKS.md' | cut -c4- | paste -sd' ' -)
	log "data dir $DATA_DIR, raw outputs in $RAW, load $SUITE_LOAD"
	$GO build ./bench/cmd/enginebench ./engine ./segment/... ./index/... # compile outside the timed commands
	$GO test -run='^$' -count=1 ./engine ./segment/... ./index/... >/dev/null
	$GO -C bench/peers build -o /dev/null .

	EB=($GO run ./bench/cmd/enginebench -q -dir "$DATA_DIR" ${SMOKE_ARGS[@]+"${SMOKE_ARGS[@]}"})
	run default "${EB[@]}" -rounds "$ROUNDS"
	run lz4 "${EB[@]}" -codec lz4 -rounds "$CODEC_ROUNDS"
	run zstd "${EB[@]}" -codec zstd -rounds "$CODEC_ROUNDS"
	run durable "${EB[@]}" -durable -rounds "$ROUNDS"
	run roll "${EB[@]}" -rounds "$ROUNDS" -config segment.bytes=268435456 -stalls 100ms

	GT=($GO test -run='^$' -benchmem -benchtime="$BENCHTIME")
	run gb_engine_append "${GT[@]}" -bench='Append/.*/record=1KiB' ./engine
	run gb_engine_other "${GT[@]}" -bench='Read|ListOffsetByTime|Roll|Open10000Segments' ./engine
	run gb_segment_append "${GT[@]}" -bench='Append/rec=1024B/batch=16KiB/.*/prebuilt' ./segment
	run gb_segment_other "${GT[@]}" -bench='Read|Lookup|Recover' ./segment
	run gb_batch "${GT[@]}" -bench='Build|Validate' ./segment/batch
	run gb_index "${GT[@]}" -bench=. ./index
	run gb_server "${GT[@]}" -bench='FetchSendfile' ./net/server
	NB=($GO run ./bench/cmd/netbench)
	if [[ $SMOKE == 1 ]]; then NB+=(-records 20000); fi
	run netbench "${NB[@]}"
	run netbench_4m "${NB[@]}" -fetch-bytes 4MiB -receive-buffer 4MiB -send-buffer 4MiB
	RB=($GO run ./bench/cmd/rebalancebench)
	if [[ $SMOKE == 1 ]]; then RB+=(-runs 1 -heartbeat 300ms -warmup 300ms -settle 300ms); fi
	run rebalance "${RB[@]}"
	# Metadata operations, single node and cluster of three, in this
	# process; its stdout is its section of the document.
	MB=($GO run ./bench/cmd/metabench -q -dir "$DATA_DIR")
	if [[ $SMOKE == 1 ]]; then MB+=(-topics 10 -moves 50 -syncs 20); fi
	run metabench "${MB[@]}"
	# Replication on a local cluster of three sluiced processes; its
	# stdout is its section too.
	RP=($GO run ./bench/cmd/replbench -q -dir "$DATA_DIR")
	if [[ $SMOKE == 1 ]]; then RP+=(-sizes 100 -rounds 1 -duration 500ms -rate-duration 500ms -failover-rounds 1 -controller-rounds 0); fi
	run replbench "${RP[@]}"
	# Today's single-node broker against the pre-cluster build (5795bbb),
	# built from git; its stdout is its section too.
	BB=($GO run ./bench/cmd/baselinebench -q -dir "$DATA_DIR")
	if [[ $SMOKE == 1 ]]; then BB+=(-rounds 1 -records 20000); fi
	run baseline "${BB[@]}"
	# The same against the build before issue 17's latency and durability
	# work (5547d95): its throughput figures must hold within noise.
	B17=($GO run ./bench/cmd/baselinebench -q -dir "$DATA_DIR" -rev 5547d95 -rounds 3)
	if [[ $SMOKE == 1 ]]; then B17+=(-rounds 1 -records 20000); fi
	run baseline17 "${B17[@]}"
	# Metrics on against off: a fresh single-node sluiced per run, with
	# and without metrics.listeners, in blocks of off, on, on, off; its
	# stdout is its section too.
	MT=($GO run ./bench/cmd/metricsbench -q -dir "$DATA_DIR")
	if [[ $SMOKE == 1 ]]; then MT+=(-quick); fi
	run metricsbench "${MT[@]}"
	# Log compaction: the engine's Partition.Clean of a 1 GiB partition
	# beside a plain read of it, in this process, then produce on a
	# sluiced with its cleaner running against idle; its stdout is its
	# section too.
	CB=($GO run ./bench/cmd/cleanbench -q -dir "$DATA_DIR")
	if [[ $SMOKE == 1 ]]; then CB+=(-quick); fi
	run cleanbench "${CB[@]}"
	# Avro serializers against raw bytes of the same values, produce and
	# consume, on a sluiced with its schema registry, then registry
	# lookups with warm caches against uncached HTTP; its stdout is its
	# section too.
	SB=($GO run ./bench/cmd/serdebench -q -dir "$DATA_DIR")
	if [[ $SMOKE == 1 ]]; then SB+=(-quick); fi
	run serdebench "${SB[@]}"
	# Latency and durable produce (issue 17): e2e and produce-to-ack at
	# fixed rates, durable produce against write+fdatasync and one
	# fdatasync, on one sluiced; its stdout is its section too.
	LB=($GO run ./bench/cmd/latbench -q -dir "$DATA_DIR")
	if [[ $SMOKE == 1 ]]; then LB+=(-quick -rounds 1); fi
	run latbench "${LB[@]}"
	# Partition scale (issue 19): a sweep of partition counts, each on a
	# fresh sluiced; its stdout is its section too.
	PS=($GO run ./bench/cmd/partbench -q -dir "$DATA_DIR")
	if [[ $SMOKE == 1 ]]; then PS+=(-smoke); fi
	run partbench "${PS[@]}"
	PB=($GO -C bench/peers run . -out "$RAW/peers" -data "$DATA_DIR")
	if [[ $SMOKE == 1 ]]; then PB+=(-smoke); fi
	run peers "${PB[@]}"

	SUITE_END=$(now)
	SUITE_SECONDS=$(($(date +%s) - SUITE_T0))
	SUITE_LOAD_END=$(loadavg)
	for v in SUITE_START SUITE_END SUITE_SECONDS SUITE_LOAD SUITE_LOAD_END commit dirty DATA_DIR BENCHTIME ROUNDS; do
		printf '%s=%q\n' "$v" "${!v}"
	done >"$RAW/suite.env"
}

if [[ $REUSE == 1 ]]; then
	# shellcheck source=/dev/null
	source "$RAW/suite.env"
	log "reusing the outputs of the run of $SUITE_START in $RAW"
else
	run_suite
fi

# ------------------------------------------------------------ machine facts

cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
cores=$(nproc)
mem_mib=$(($(sed -n 's/^MemTotal: *\([0-9]*\) kB/\1/p' /proc/meminfo) / 1024))
kernel="$(uname -sr) $(uname -m)"
go_version=$($GO version)
read -r fs_source fs_type fs_target fs_options < <(findmnt -n -o SOURCE,FSTYPE,TARGET,OPTIONS -T "$DATA_DIR")
fs_journal=""
if [[ $fs_type == ext4 ]]; then
	fs_journal=$(dmesg 2>/dev/null | grep -m1 "EXT4-fs (${fs_source#/dev/}): mounted" | sed 's/.*mounted filesystem [^ ]* //' || true)
fi
blockdev=""
dev=$(basename "$fs_source")
if [[ -d /sys/class/block/$dev/queue ]]; then
	q=/sys/class/block/$dev/queue
	blockdev="rotational=$(cat $q/rotational), discard_max_bytes=$(cat $q/discard_max_bytes), scheduler=$(cat $q/scheduler)"
fi

# ------------------------------------------------------- table extraction

# ebstats FILE [PRODUCERS]: one tab-separated line from an enginebench text
# report: rounds, plain +sync MB/s (median), engine +sync MB/s (median),
# engine/plain +sync (median), its worst round, engine/plain write only
# (median), engine p99 append us (median), engine max append ms (worst
# round), plain max write ms (worst round), engine segments (last round).
# Columns are found by their header names.
ebstats() {
	awk -v want="${2:-1}" '
	function med(a, n,    i, j, t) {
		for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j-1] > a[j]; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }
		return n % 2 ? a[(n+1)/2] : (a[n/2] + a[n/2+1]) / 2
	}
	function col(name) { return f[h[name]] }
	/^ *round  +run  +producers/ {
		sub(/^ +/, ""); n = split($0, f, /  +/)
		for (i = 1; i <= n; i++) h[f[i]] = i
		intable = 1; next
	}
	intable && /^ *$/ { intable = 0; next }
	intable {
		sub(/^ +/, ""); split($0, f, /  +/)
		if (col("run") ~ /^plain/) {
			np++; psync[np] = col("+sync MB/s")
			if (col("max ms") + 0 > pmax) pmax = col("max ms") + 0
			next
		}
		if (col("producers") != want) next
		ne++; esync[ne] = col("+sync MB/s"); rs[ne] = col("vs plain +sync"); rw[ne] = col("vs plain write")
		p99[ne] = col("p99 us")
		if (ne == 1 || rs[ne] + 0 < rsmin) rsmin = rs[ne] + 0
		if (col("max ms") + 0 > emax) emax = col("max ms") + 0
		segs = col("segments")
	}
	END {
		if (ne == 0 || np == 0) { print "ebstats: no runs found in " FILENAME > "/dev/stderr"; exit 1 }
		printf "%d\t%.1f\t%.1f\t%.3f\t%.3f\t%s\t%.0f\t%.1f\t%.1f\t%s\n", np, med(psync, np), med(esync, ne), med(rs, ne), rsmin,
			(rw[1] == "-" ? "-" : sprintf("%.3f", med(rw, ne))), med(p99, ne), emax, pmax, segs
	}' "$1"
}

load1() { meta "$1" "$2" | cut -d' ' -f1; }

# verdict ID: MET or NOT MET from the harness's target line.
verdict() { sed -n 's/^target:.*: //p' "$RAW/$1.out"; }

# volume ID: the volume each run of a harness figure wrote, and its codec.
volume() { sed -n 's/^workload: *\([0-9.]* [KMG]*i*B\) .*codec \([a-z0-9]*\)$/\2, \1/p' "$RAW/$1.out"; }

# headline_row ID LABEL: one row of the throughput table.
headline_row() {
	local r np ps es rs rsmin rw p99 emax pmax segs
	r=$(ebstats "$RAW/$1.out")
	IFS=$'\t' read -r np ps es rs rsmin rw p99 emax pmax segs <<<"$r"
	printf '| %s | %s | %s | %s | **%s** (%s) | **%s** | %s | %s | %s | %s | %s / %s |\n' \
		"$(volume "$1")$2" "$np" "$ps" "$es" "$rs" "$rsmin" "$rw" "$(verdict "$1")" "$p99" "$emax" "$pmax" "$(load1 "$1" load_before)" "$(load1 "$1" load_after)"
}

# gotable ID...: the Benchmark lines of go test outputs as table rows.
gotable() {
	local id
	for id in "$@"; do
		awk '
		/^pkg: / { pkg = $2; sub(/^github.com\/sluicelog\/sluice\//, "", pkg) }
		/^Benchmark/ {
			name = $1; sub(/^Benchmark/, "", name); sub(/-[0-9]+$/, "", name)
			ns = mb = bop = al = "-"; other = ""
			for (i = 3; i < NF; i += 2) {
				v = $i; u = $(i+1)
				if (u == "ns/op") ns = v
				else if (u == "MB/s") mb = v
				else if (u == "B/op") bop = v
				else if (u == "allocs/op") al = v
				else other = other (other == "" ? "" : ", ") v " " u
			}
			printf "| %s | `%s` | %s | %s | %s | %s | %s | %s |\n", pkg, name, $2, ns, mb, al, bop, (other == "" ? "" : other)
		}' "$RAW/$id.out"
	done
}

# rawblock ID [trim]: the command and its verbatim output in a code block,
# bracketed by when it ran and the load averages. With trim=go, the goos,
# goarch, cpu and PASS lines of go test are dropped (the machine section has
# them). stderr, if any, follows in its own block, cut to STDERR_LINES.
rawblock() {
	local id=$1 trim=${2:-}
	echo '```text'
	echo "\$ $(cat "$RAW/$id.cmd")"
	echo "# started $(meta "$id" started), load $(meta "$id" load_before)"
	if [[ $trim == go ]]; then
		grep -v -E '^(goos|goarch|cpu): |^PASS$' "$RAW/$id.out"
	else
		cat "$RAW/$id.out"
	fi
	echo "# finished $(meta "$id" finished) after $(meta "$id" seconds) s, load $(meta "$id" load_after)"
	echo '```'
	if [[ -s $RAW/$id.err ]]; then
		local n
		n=$(wc -l <"$RAW/$id.err")
		echo
		echo "stderr ($n lines):"
		echo
		echo '```text'
		head -n "$STDERR_LINES" "$RAW/$id.err"
		echo '```'
		if ((n > STDERR_LINES)); then
			echo
			echo "_(stderr trimmed by bench/benchmarks.sh to its first $STDERR_LINES of $n lines.)_"
		fi
	fi
}

# ------------------------------------------------------------ the document

stalls=$(grep -c '^stall: ' "$RAW/roll.err" || true)
IFS=$'\t' read -r roll_np _ _ roll_rs _ roll_rw roll_p99 roll_emax roll_pmax roll_segs <<<"$(ebstats "$RAW/roll.out")"

# The busiest moment of the run, from the load averages around each command.
# The suite alone keeps the 1-min load near the core count (its writers and
# the kernel's writeback threads, in uninterruptible sleep, count), so only
# more than half a point above it is taken for other work.
max_load=$(cat "$RAW"/*.meta | sed -n 's/^load_\(before\|after\)=\([0-9.]*\) .*/\2/p' | sort -n | tail -1)
busy=""
if awk -v l="$max_load" -v c="$cores" 'BEGIN { exit !(l > c + 0.5) }'; then
	busy="**The machine was busy during this run:** the 1-min load average reached $max_load on $cores cores
(before/after each command below; the suite alone keeps it near $cores), so other work shared the
CPUs and the disk. Read the figures with that in mind and compare them with a quieter run."
fi

tmp=$RAW/BENCHMARKS.md.new
{
	cat <<EOF
# Sluice benchmarks

Generated by \`bash bench/benchmarks.sh\` (\`make bench\`) from $SUITE_START to $SUITE_END
(${SUITE_SECONDS} s) at commit \`$commit\`${dirty:+ with uncommitted changes to \`$dirty\`}. Nothing
below is typed by hand: each figure is the verbatim output of the command printed above it, and
the tables are extracted from those outputs by the script. Rerun the script to regenerate this
file. Every engine figure is a ratio measured **in the same run**: the engine against plain
sequential \`os.File.Write\` calls of the same bytes, in the same directory, on the same disk.

## The machine

| | |
|---|---|
| CPU | \`$cpu_model\`, $cores logical cores |
| memory | $mem_mib MiB |
| kernel | $kernel |
| data dir | \`$DATA_DIR\`: $fs_type on \`$fs_source\` mounted at \`$fs_target\` (\`$fs_options\`)${fs_journal:+; kernel log: "$fs_journal"} |
| block device | ${blockdev:-unknown} |
| Go | $go_version |
| load average | $SUITE_LOAD at the start, $SUITE_LOAD_END at the end (1, 5, 15 min, running/total tasks); highest 1-min figure around a command: $max_load |
${busy:+
$busy
}
EOF
	# The side-by-side section comes first: its ratios are the headline.
	# bench/peers writes it from its own measurements (its raw output is
	# under Raw outputs).
	cat "$RAW/peers/peers.md"
	cat <<EOF

## Headline: engine against plain sequential writes

Page-cache mode (Kafka's default): each run writes the same volume of 64 KiB Kafka v2 batches of
1 KiB records; **+sync** runs to the end of the final fdatasync (plain) or \`Partition.Flush\`
(engine), **write only** to the last write/append returning. Ratios are engine/plain per round;
the table gives the median over the rounds, the worst round in brackets. The target is
engine/plain >= 0.8 with fdatasync included (the harness's verdict on the median). Latencies
are per append call: p99 is the median of the rounds' p99, max the worst round's.

| figure | rounds | plain MB/s +sync | engine MB/s +sync | engine/plain +sync (worst) | engine/plain write only | target | engine p99 append us | engine max append ms | plain max write ms | 1-min load before / after |
|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|
EOF
	headline_row default ", default 1 GiB segments"
	headline_row lz4 " stored, default 1 GiB segments"
	headline_row zstd " stored, default 1 GiB segments"
	headline_row roll ", 256 MiB segments (roll behaviour)"
	cat <<EOF

A ratio above 1 with fdatasync included is not the engine outrunning the disk: plain leaves the
whole volume dirty in the page cache and pays for it in one fdatasync at the end, while the engine
starts flushing each rolled segment in the background as soon as it rolls, so its writeback
overlaps its appends. The write-only ratio is where that overlap costs: the engine's appends share
the disk and the two cores with that writeback, plain's writes do not.
EOF

	cat <<EOF

Durable mode (\`flush.on.ack=true\`: an append returns only after fdatasync; concurrent producers
share syncs by group commit), against one plain writer doing write+fdatasync per 64 KiB batch,
$(volume durable | cut -d' ' -f2-3) per run, median of $ROUNDS rounds (target: $(verdict durable)):

| producers | plain write+fdatasync MB/s | engine flush.on.ack MB/s | engine/plain (worst) | engine p99 append us | engine max append ms |
|---:|---:|---:|---:|---:|---:|
EOF
	for p in $(awk '/^ *round  +run/ { t = 1; next } t && /^ *$/ { exit } t && /engine/ { sub(/^ +/, ""); split($0, f, /  +/); print f[3] }' "$RAW/durable.out" | sort -nu); do
		IFS=$'\t' read -r _ ps es rs rsmin _ p99 emax _ _ <<<"$(ebstats "$RAW/durable.out" "$p")"
		printf '| %s | %s | %s | **%s** (%s) | %s | %s |\n' "$p" "$ps" "$es" "$rs" "$rsmin" "$p99" "$emax"
	done


	cat <<EOF

### Roll behaviour

\`segment.bytes=268435456\` makes the engine roll every 256 MiB: $roll_segs segments per run of $(volume roll | cut -d' ' -f2-3)
(the last round's count), so $((roll_segs - 1)) rolls per run, over $roll_np rounds. With
\`-stalls 100ms\` the harness prints the stacks of Sluice's goroutines whenever an append has been
in flight for 100 ms. In this run: **$stalls stall report(s)**; the slowest engine append took
**$roll_emax ms** (the slowest plain write $roll_pmax ms), median p99 $roll_p99 us; engine/plain
+sync $roll_rs, write only $roll_rw.

## Go benchmarks

\`-benchtime=$BENCHTIME -benchmem\`, GOMAXPROCS $cores (the \`-$cores\` suffix is dropped from the
names). MB/s is 10^6 bytes per second as \`go test\` reports it. The \`-bench\` filters in the commands
below keep the suite short: engine Append with 1 KiB records only, segment Append with 1 KiB
records in 16 KiB prebuilt batches only, and segment/batch without the client-side Reader.

| package | benchmark | iterations | ns/op | MB/s | allocs/op | B/op | other metrics |
|---|---|---:|---:|---:|---:|---:|---|
EOF
	gotable gb_engine_append gb_engine_other gb_segment_append gb_segment_other gb_batch gb_index

	cat <<EOF

## Broker over loopback: producer and consumer against the loopback limit

\`bench/cmd/netbench\` starts \`sluiced\` as its own process and measures, in the same run, the
native producer (100 B records, acks=1, batched) and consumer (whole partition from page cache,
sendfile on the broker) against a plain TCP writer/reader moving the same bytes between two
processes (the loopback limit), against a reader of a source process that sends the
partition's segment file with sendfile(2) (the sendfile limit), and against one that reads the
same file with pread into a buffer and writes it (the copy limit: a file server without
sendfile). The target for the consumer is 0.8 of the loopback limit. The consume side runs in
rounds (every consumer mode, then the three limits) and each ratio is the median of the rounds'
ratios, because on this shared machine the limit itself moves by 2x within a minute.

The ceiling lines say how far the target is reachable here at all. The loopback limit's source
writes one buffer that stays in the CPU's caches, so its reader copies warm bytes; a reader of
sendfile'd bytes copies the page cache's own pages, cold, and the sender takes and drops a
reference on every 4 KiB page. Over loopback, where no NIC's DMA saves the sender a copy, that
makes sendfile the slower way: a consumer the broker serves with sendfile gets about as far as
the sendfile limit and no further than the runs' noise, so \`ceiling sendfile/limit\` is about the
most any of them can reach against the target.

Consumer modes: records the caller owns (\`PollInto\`, reusing the slice it returned last),
the same records given back with \`Recycle\` once checked (fetches then copy into reused memory),
borrowed records (\`BorrowRecords\`), whole batches (\`PollBatches\`, CRC-checked), whole
batches with \`check.crcs=false\` (\`SkipCRCCheck\`: framing checked, CRC not computed), and
raw Fetch frames without a client.

Twice: with Kafka's default \`max.partition.fetch.bytes\` (1 MiB) and the OS's socket buffers,
then tuned for throughput as Kafka users tune it: 4 MiB fetches and 4 MiB socket buffers
(\`receive.buffer.bytes\` on the consumer, \`socket.send.buffer.bytes\` on the broker; the
limits' readers and sources get the same buffers, so every ratio still compares like with like).
Ratio lines, extracted by the script from the outputs below:

\`\`\`text
1 MiB fetches:
$(grep -E '^ +(ratio|against|ceiling) ' "$RAW/netbench.out" | sed 's/^ *//')

4 MiB fetches, 4 MiB socket buffers:
$(grep -E '^ +(ratio|against|ceiling) ' "$RAW/netbench_4m.out" | sed 's/^ *//')
\`\`\`

EOF
	rawblock netbench
	echo
	rawblock netbench_4m
	echo
	echo "Zero-copy fetch path in-process (bytes the broker allocates per MiB fetched):"
	echo
	rawblock gb_server go
	cat <<EOF

## Consumer groups: a member joins a stable group of three

\`bench/cmd/rebalancebench\` runs a group of three native group consumers on a 12-partition topic
that receives a record per partition every 5 ms, then starts a fourth member, and measures the
longest gap in consumption on the partitions that keep their owner, with cooperative
(incremental) rebalancing and with Kafka's classic eager protocol (sticky placement, so the same
partitions move). The summary line, extracted by the script from the output below:

\`\`\`text
$(grep -E '^longest consumption gap' "$RAW/rebalance.out")
\`\`\`

EOF
	rawblock rebalance
	# The metadata and baseline sections are those commands' own output,
	# verbatim (each names its command and its times).
	echo
	cat "$RAW/metabench.out"
	if [[ -f $RAW/replbench.out ]]; then # absent from the raw outputs of runs before it
		echo
		cat "$RAW/replbench.out"
	fi
	echo
	cat "$RAW/baseline.out"
	if [[ -f $RAW/baseline17.out ]]; then # absent from the raw outputs of runs before it
		echo
		cat "$RAW/baseline17.out"
	fi
	if [[ -f $RAW/metricsbench.out ]]; then # absent from the raw outputs of runs before it
		echo
		cat "$RAW/metricsbench.out"
	fi
	if [[ -f $RAW/cleanbench.out ]]; then # absent from the raw outputs of runs before it
		echo
		cat "$RAW/cleanbench.out"
	fi
	if [[ -f $RAW/serdebench.out ]]; then # absent from the raw outputs of runs before it
		echo
		cat "$RAW/serdebench.out"
	fi
	if [[ -f $RAW/latbench.out ]]; then # absent from the raw outputs of runs before it
		echo
		cat "$RAW/latbench.out"
	fi
	if [[ -f $RAW/partbench.out ]]; then # absent from the raw outputs of runs before it
		echo
		cat "$RAW/partbench.out"
	fi
	cat <<EOF

## Raw outputs

### Harness: uncompressed (\`bench/cmd/enginebench\`, defaults: 2 GiB, 1 KiB records, 64 KiB batches)

EOF
	rawblock default
	echo
	echo "### Harness: lz4"
	echo
	rawblock lz4
	echo
	echo "### Harness: zstd"
	echo
	rawblock zstd
	echo
	echo "### Harness: durable (flush.on.ack, 1/4/16 producers)"
	echo
	rawblock durable
	echo
	echo "### Harness: roll behaviour (256 MiB segments, stall stacks at 100 ms)"
	echo
	rawblock roll
	echo
	echo '### Side by side: Sluice, kfake, NATS JetStream and the limits (`bench/peers`)'
	echo
	rawblock peers
	echo
	echo "### Go benchmarks: engine"
	echo
	echo '_In the go test outputs below, bench/benchmarks.sh drops the goos, goarch, cpu and PASS lines'
	echo '(the machine section has them); the rest is verbatim._'
	echo
	rawblock gb_engine_append go
	echo
	rawblock gb_engine_other go
	echo
	echo "### Go benchmarks: segment"
	echo
	rawblock gb_segment_append go
	echo
	rawblock gb_segment_other go
	echo
	echo "### Go benchmarks: segment/batch and index"
	echo
	rawblock gb_batch go
	echo
	rawblock gb_index go
} >"$tmp"
mv "$tmp" "$OUT"
mkdir -p "$(dirname "$OUT")/docs"
cp "$RAW"/peers/docs/*.svg "$(dirname "$OUT")/docs/"
log "wrote $OUT ($(wc -l <"$OUT") lines) in ${SUITE_SECONDS} s"
