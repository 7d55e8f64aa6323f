#!/usr/bin/env bash
# Starts Debian's ngircd in the foreground as the benchmark peer: loopback only, on PORT, with
# its flood penalties and connection limits lifted so it relays as fast as it can.
# Usage: scripts/ngircd-bench.sh PORT DIR   (DIR receives the generated configuration)
set -euo pipefail
port="${1:?port}"
dir="${2:?directory for the configuration}"
if ! command -v ngircd >/dev/null; then
    echo "ngircd is not installed: apt-get install -y ngircd" >&2
    exit 3
fi
mkdir -p "$dir"
cat > "$dir/ngircd.conf" <<CONF
[Global]
	Name = bench.local
	Info = chat-bench peer
	Listen = 127.0.0.1
	Ports = $port
	MotdPhrase = "bench"
[Limits]
	MaxConnections = 0
	MaxConnectionsIP = 0
	MaxJoins = 0
	MaxPenaltyTime = 0
	PingTimeout = 3600
	PongTimeout = 3600
	MaxNickLength = 30
[Options]
	DNS = no
	Ident = no
	PAM = no
CONF
# exec: the process chat-bench started is ngircd itself, so its PID is the one to measure.
exec ngircd --nodaemon --config "$dir/ngircd.conf"
