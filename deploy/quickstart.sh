#!/usr/bin/env bash
# One command: set up a Debian 12 machine, build, start collabcare-server on the embedded
# defaults (SQLite in ./collabcare-data, development identity, FHIR NDJSON export, the HTTP face
# on 127.0.0.1:8080) and walk a demo session with collabctl, then list the FHIR files it
# produced and read the session back through the HTTP JSON API. The server keeps running afterwards until Ctrl-C (or pass --no-wait).
set -euo pipefail
cd "$(dirname "$0")/.."
wait_after=1
[ "${1:-}" = "--no-wait" ] && wait_after=0

deploy/setup-debian.sh
web/install.sh
deploy/build.sh collabcare-server collabctl collabcare_web

bin=build/plugin
data=./collabcare-data
listen=${COLLABCARE_LISTEN:-127.0.0.1:50051}
http_listen=${COLLABCARE_HTTP_LISTEN:-127.0.0.1:8080}
mkdir -p "$data"
rm -f "$data/port" "$data/http.port"
"$bin/server/collabcare-server" --dev --data_dir="$data" --listen="$listen" \
  --http_listen="$http_listen" --http_port_file="$data/http.port" --web_root=build/web/dist \
  --operators=Practitioner/it-ops --port_file="$data/port" 2>>"$data/server.log" &
server=$!
trap 'kill -TERM $server 2>/dev/null || true' INT TERM
for _ in $(seq 1 100); do [ -s "$data/port" ] && break; sleep 0.1; done
[ -s "$data/port" ] && [ -s "$data/http.port" ] || { echo "server did not start; see $data/server.log"; exit 1; }
http="http://127.0.0.1:$(cat "$data/http.port")"
export COLLABCARE_SERVER="127.0.0.1:$(cat "$data/port")"
export COLLABCARE_DATA_DIR="$data"
ctl="$bin/cli/collabctl"
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "Dr Lee (Practitioner/9) opens an episode with Alex (Patient/123)"
E=$($ctl --as=Practitioner/9 -q episodes create --therapist=Practitioner/9="Dr Lee" \
  --client=Patient/123=Alex --format=client-led --modality=individual)
$ctl --as=Practitioner/9 episodes get "$E"

say "Alex writes two goals in their own words"
G1=$($ctl --as=Patient/123 -q goals create "$E" --words="I want to sleep through the night again" \
  --signs="I wake up without dreading the day" --priority=1)
G2=$($ctl --as=Patient/123 -q goals create "$E" --words="Call my sister once a week" --priority=2)
$ctl --as=Patient/123 goals list "$E"

say "Dr Lee restates the first goal; Alex confirms it"
$ctl --as=Practitioner/9 goals restate "$G1" --text="Rest that lets you face mornings with energy"
$ctl --as=Patient/123 goals confirm "$G1"

say "Dr Lee shares a hypothesis; Alex answers it"
H=$($ctl --as=Practitioner/9 -q hypotheses share "$E" --kind=personal --tentativeness=wondering \
  --text="I wonder whether the nights got harder when the calls with your sister stopped" \
  --related_goal="$G1" --related_goal="$G2")
$ctl --as=Patient/123 hypotheses respond "$H" --stance=partly-fits \
  --words="Partly. Work worries keep me up too."

say "A shared review: both rate, reflect, agree a next step and sign"
R=$($ctl --as=Patient/123 -q reviews start "$E")
$ctl --as=Patient/123 -q reviews rate "$R" --goal="$G1"=4 --goal="$G2"=6 \
  --instrument=ORS=5.1,6.0,4.8,5.5 --instrument=SRS=9.1,9.4,8.8,9.0 >/dev/null
$ctl --as=Practitioner/9 -q reviews rate "$R" --goal="$G1"=5 --goal="$G2"=6 >/dev/null
$ctl --as=Patient/123 -q reviews reflect "$R" --words="Sleeping a bit better since I stopped checking email late" >/dev/null
$ctl --as=Patient/123 -q reviews next-step "$R" --text="Phone off at 10 pm, call my sister on Sunday" --due=2026-12-06 >/dev/null
$ctl --as=Patient/123 -q reviews sign "$R" >/dev/null
$ctl --as=Practitioner/9 reviews sign "$R"

say "Progress, as both of them see it"
$ctl --as=Patient/123 progress "$E"

say "The session as FHIR R4 (bulk-data NDJSON, --host_profile=ndjson): $data/fhir-export"
# The sync worker logs sync_caught_up with lag 0 once it has pushed everything written so far.
mark=$(wc -l <"$data/server.log")
for _ in $(seq 1 100); do
  tail -n +"$((mark + 1))" "$data/server.log" | grep -q '"event":"sync_caught_up".*"lag":"0"' && break
  sleep 0.1
done
for f in "$data"/fhir-export/*.ndjson; do
  printf '  %-32s %5d resources\n' "$(basename "$f")" "$(wc -l <"$f")"
done

say "The same session through the HTTP face ($http), as the SMART app reads it"
curl -fsS "$http/healthz"; echo
token=$($ctl token --as=Patient/123 --ttl=10m)
curl -fsS -H "Authorization: Bearer $token" "$http/v1/$E/goals" |
  grep -o '"words":"[^"]*"' | sed 's/^/  /'
curl -fsS -o /dev/null -w '  /app/launch.html: HTTP %{http_code}, %{content_type}\n' "$http/app/launch.html"

say "What clinic IT sees (--operators=Practitioner/it-ops)"
$ctl --as=Practitioner/it-ops sync status

say "Done. The server is serving at $COLLABCARE_SERVER with data in $data"
echo "Try: COLLABCARE_SERVER=$COLLABCARE_SERVER COLLABCARE_DATA_DIR=$data $ctl --as=Patient/123 episodes list"
echo " or: curl -H \"Authorization: Bearer \$($ctl token --as=Patient/123)\" $http/v1/episodes"
if [ "$wait_after" = 1 ]; then
  echo "Ctrl-C stops the server."
  wait $server || true
else
  kill -TERM $server
  wait $server || true
fi
