#!/usr/bin/env bash
# churn-nightly.sh: run the nightly `churn score`, then say what happened from its exit code and
# <out>/manifest.json, the way the README's "Nightly scoring" section promises.
#
#   CHURN_DATA=/data/extract CHURN_OUT=/srv/churn/risk MLFLOW_TRACKING_URI=http://mlflow:5000 \
#       churn-nightly.sh [more churn score flags, e.g. --capacity 2000 --lang es]
#
# Environment:
#   CHURN_DATA           folder of contract tables (required)
#   CHURN_OUT            output folder: risk list, manifest.json, quarantine/ (required)
#   MLFLOW_TRACKING_URI  the MLflow store holding the champion; set it: a scheduler's working folder
#                        is not yours, and the default store depends on it
#   CHURN                the churn command (default: churn on the PATH, e.g. /opt/churn/.venv/bin/churn)
#   PYTHON               a Python 3 to read the manifest with (default: python3)
#   CHURN_NOTIFY         optional command called as: $CHURN_NOTIFY <level> <one-line message>
#                        (level: ok | gate | bad-input | unexpected), e.g. a script posting to chat
#
# Exit code: churn's own, passed through, so cron mail, Airflow and Kubernetes see it:
#   0 published | 2 bad input or config | 3 stopped by a gate (previous list stays) | 1 unexpected
set -uo pipefail

: "${CHURN_DATA:?set CHURN_DATA to the folder of contract tables}"
: "${CHURN_OUT:?set CHURN_OUT to the output folder}"
CHURN="${CHURN:-churn}"
PYTHON="${PYTHON:-python3}"
MANIFEST="$CHURN_OUT/manifest.json"

say() { printf '%s churn-nightly: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*"; }
notify() { if [ -n "${CHURN_NOTIFY:-}" ]; then "$CHURN_NOTIFY" "$1" "$2" || say "CHURN_NOTIFY failed"; fi; }

if [ -z "${MLFLOW_TRACKING_URI:-}" ]; then
    say "warning: MLFLOW_TRACKING_URI is not set: churn uses its default store, which may not hold the champion"
fi

# churn error logs (churn-error.log, exit 1) land in the working folder: keep them beside the outputs
mkdir -p "$CHURN_OUT" && cd "$CHURN_OUT" || exit 2

# run in the background so a SIGTERM from the scheduler reaches churn, which then records the run
# as failed in the manifest; the manifest names the process that wrote it (pid)
"$CHURN" score --data "$CHURN_DATA" --out "$CHURN_OUT" --json "$@" &
pid=$!
trap 'kill -TERM "$pid" 2>/dev/null' TERM INT
wait "$pid"
rc=$?
if [ "$rc" -gt 128 ] && kill -0 "$pid" 2>/dev/null; then  # wait was interrupted by the trap
    wait "$pid"
    rc=$?
fi
trap - TERM INT

# One line from the manifest, only when this very run wrote it (a wrong flag or config exits 2
# before the manifest is touched: the one-line error above says why).
summary="$("$PYTHON" - "$MANIFEST" "$pid" <<'PY'
import json, sys
path, pid = sys.argv[1], int(sys.argv[2])
try:
    m = json.load(open(path, encoding="utf-8"))
except (OSError, ValueError):
    sys.exit(0)
if m.get("pid") != pid:
    sys.exit(0)
aside = ", ".join(f"{name} {t['rows_quarantined']}" for name, t in (m.get("inputs") or {}).items()
                  if t.get("rows_quarantined"))
print(f"status {m.get('status')} (exit {m.get('exit_code')}), as of {m.get('as_of', '?')}, "
      f"model {m.get('model_uri', '?')} v{m.get('model_version', '?')}, "
      f"listed {m.get('clients_listed', '?')} of {m.get('clients_scored', '?')} scored"
      + (f", rows set aside: {aside}" if aside else "")
      + (f"; error: {m['error']}" if m.get("error") else ""))
PY
)"
[ -n "$summary" ] || summary="no manifest from this run (churn stopped before starting: see its error line above)"

case "$rc" in
    0)
        say "published: $summary"
        notify ok "churn: list published ($summary)" ;;
    3)
        say "STOPPED BY A GATE, the previous list stays published: $summary"
        notify gate "churn: stopped by a gate, yesterday's list stays ($summary)" ;;
    2)
        say "BAD INPUT OR CONFIG, nothing published: $summary; rows set aside are in $CHURN_OUT/quarantine/"
        notify bad-input "churn: bad input or config ($summary)" ;;
    *)
        say "UNEXPECTED (exit $rc), nothing published: $summary; traceback in $CHURN_OUT/churn-error.log"
        notify unexpected "churn: unexpected exit $rc ($summary)" ;;
esac
exit "$rc"
