#!/usr/bin/env bash
# Runs the FTP fault suite (tests/trust/ftp_faults_test.ts) ROUNDS times against each named FTP
# server, each round with a new seed, and prints one line a round and a count per server at the
# end. Not part of `deno task test`: a round takes one to three minutes.
#   scripts/ftp_fault_rounds.sh [ROUNDS] [FILTER] [SERVER...]
#   scripts/ftp_fault_rounds.sh 30 "2% faulted" ftp-srv pure-ftpd vsftpd proftpd
# The daemons run as root only (see README, Development); a failed round's output is kept in
# /tmp/ferry-fault-round-<server>-<n>.log. FILTER is a regular expression; the suite's last test,
# which stops the server and the proxy, always runs too (else the daemon's sessions outlive it).
set -u
cd "$(dirname "$0")/.."
rounds=${1:-5}
filter=${2:-faulted}
shift 2 2>/dev/null || shift $#
servers=("${@:-ftp-srv pure-ftpd vsftpd proftpd}")
read -r -a servers <<<"${servers[*]}"
for server in "${servers[@]}"; do
  ok=0
  for ((n = 1; n <= rounds; n++)); do
    log=/tmp/ferry-fault-round-$server-$n.log
    if FERRY_FTP_SERVER=$server deno test -A --no-check tests/trust/ftp_faults_test.ts \
      --filter "/${filter}|stop the proxy and the server/" >"$log" 2>&1; then
      ok=$((ok + 1))
      echo "$server round $n: passed ($(grep -o 'seed [0-9]*' "$log" | head -n 1))"
      rm -f "$log"
    else
      echo "$server round $n: FAILED ($(grep -o 'seed [0-9]*' "$log" | head -n 1)), see $log"
    fi
  done
  echo "$server: $ok of $rounds rounds passed"
done
