#!/bin/sh
# Creates the namespace expiry-sync runs in, with NAMESPACE_RETENTION, or
# sets that retention on an existing one; then registers SEARCH_ATTRIBUTES
# ("Name=Type ..."). Run by docker-compose.yml's temporal-namespace job,
# and as is by the production-topology test (internal/testkit/topology).
set -eu
: "${TEMPORAL_ADDRESS:?set TEMPORAL_ADDRESS (host:port of the frontend)}"
: "${TEMPORAL_NAMESPACE:?set TEMPORAL_NAMESPACE}"
: "${NAMESPACE_RETENTION:?set NAMESPACE_RETENTION, e.g. 720h}"

attempt=1
until temporal operator cluster health --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1; do
  [ "$attempt" -lt 60 ] || { echo "Temporal at $TEMPORAL_ADDRESS is not healthy" >&2; exit 1; }
  attempt=$((attempt + 1))
  sleep 2
done

ns="--address $TEMPORAL_ADDRESS --namespace $TEMPORAL_NAMESPACE"
# shellcheck disable=SC2086 # $ns holds flags
if temporal operator namespace describe $ns >/dev/null 2>&1; then
  temporal operator namespace update $ns --retention "$NAMESPACE_RETENTION"
  echo "namespace $TEMPORAL_NAMESPACE: retention set to $NAMESPACE_RETENTION"
else
  temporal operator namespace create $ns --retention "$NAMESPACE_RETENTION"
  echo "namespace $TEMPORAL_NAMESPACE created, retention $NAMESPACE_RETENTION"
fi

# A new namespace takes a moment to reach every service: retry.
for attr in ${SEARCH_ATTRIBUTES:-}; do
  name=${attr%%=*} type=${attr#*=}
  attempt=1
  # shellcheck disable=SC2086
  until temporal operator search-attribute create $ns --name "$name" --type "$type" >/dev/null 2>&1 ||
    temporal operator search-attribute list $ns 2>/dev/null | grep -q "^ *$name "; do
    [ "$attempt" -lt 30 ] || { echo "cannot register search attribute $name ($type)" >&2; exit 1; }
    attempt=$((attempt + 1))
    sleep 2
  done
  echo "search attribute $name ($type) registered"
done
