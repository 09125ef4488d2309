// Package topology proves docker-compose.yml without a Docker engine: its
// tests run the pieces the compose file describes as processes on this
// machine (the Temporal server binary at the file's version, its schema tool
// on PostgreSQL, the namespace job, MariaDB for the inventory, the simulator,
// the worker with metrics on, the starter) with the file's own environment,
// commands and secrets, and drive a sync, a resume and a schedule through them.
package topology
