// Package docs holds the tests that keep the README, docker-compose.yml and
// the code in agreement: every configuration variable the code reads is in
// the README's table, and the compose file wires the same names.
package docs
