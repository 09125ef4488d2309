#!/bin/sh
# Creates Temporal's two PostgreSQL databases, or upgrades their schema to the
# one this temporal-sql-tool embeds (the server image of the same version).
# Run by docker-compose.yml's temporal-schema job, and as is by the
# production-topology test (internal/testkit/topology). Safe to run again.
set -eu
: "${POSTGRES_SEEDS:?set POSTGRES_SEEDS (the PostgreSQL host)}"
: "${POSTGRES_USER:?set POSTGRES_USER}"
if [ -n "${POSTGRES_PWD_FILE:-}" ]; then
  SQL_PASSWORD=$(cat "$POSTGRES_PWD_FILE")
  export SQL_PASSWORD
fi

sql() {
  temporal-sql-tool --plugin "${DB:-postgres12}" --ep "$POSTGRES_SEEDS" -p "${DB_PORT:-5432}" -u "$POSTGRES_USER" "$@"
}

for store in temporal:"${DBNAME:-temporal}" visibility:"${VISIBILITY_DBNAME:-temporal_visibility}"; do
  schema=${store%%:*} db=${store#*:}
  sql --db "$db" create-database # a no-op when it exists
  sql --db "$db" setup-schema -v 0.0
  sql --db "$db" update-schema --schema-name "postgresql/v12/$schema"
done
echo "Temporal schema is up to date"
