// Package docs holds the tests that keep the docs and the code in
// agreement: every configuration variable the code reads is in the README's
// table, the compose file wires the same names, the CLI reference in
// docs/cli is what the commands generate, and every starter command the
// README and docs/ show uses real flags under their documented names.
package docs
