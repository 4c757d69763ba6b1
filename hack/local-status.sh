#!/usr/bin/env bash
# Prints each local-stack component: version, port, pid and health. Exits 1 if any is down.
set -uo pipefail
source "$(dirname "$0")/lib/stack.sh"

printf '%-24s %-26s %-6s %-8s %s\n' COMPONENT VERSION PORT PID HEALTH
down=0
for name in "${COMPONENTS[@]}"; do
  pid=$(pid_of "$name" || true)
  if ! running "$name"; then health="not running"; pid="-"; down=1
  elif healthy "$name"; then health="healthy"
  else health="unhealthy (log: $LOG_DIR/$name.log)"; down=1
  fi
  printf '%-24s %-26s %-6s %-8s %s\n' "$name" "$(version_of "$name")" "$(port_of "$name")" "${pid:--}" "$health"
done
exit $down
