package store

import (
	"errors"
	"strings"

	mysqldriver "github.com/go-sql-driver/mysql"
)

// permanentMySQLErrors are refusals that repeat on every retry: the data or
// a rule in the database rejects the write, not a passing outage.
var permanentMySQLErrors = map[uint16]string{
	1048: "a NOT NULL column got NULL",
	1054: "unknown column (schema out of date?)",
	1146: "table missing (migrations not applied?)",
	1264: "value out of range",
	1366: "incorrect string value (charset)",
	1406: "value too long for its column",
	1644: "rejected by a database trigger or rule",
	3140: "invalid JSON",
	4025: "CHECK constraint failed",
}

// IsPermanent reports whether a database error will repeat on retry.
// Connection losses, timeouts, deadlocks and lock waits are not permanent.
func IsPermanent(err error) bool {
	var me *mysqldriver.MySQLError
	if errors.As(err, &me) {
		_, ok := permanentMySQLErrors[me.Number]
		return ok
	}
	if errors.Is(err, ErrNotFound) || errors.Is(err, ErrFinished) || errors.Is(err, ErrOutOfOrder) ||
		errors.Is(err, ErrNotRunning) || errors.Is(err, ErrNotStaged) {
		return true
	}
	// Renewals: a resource another open request holds (errors.As
	// *RenewalConflict to tell it apart), an unknown request or resource,
	// a record the workflow should never send.
	var conflict *RenewalConflict
	if errors.As(err, &conflict) || errors.Is(err, ErrRenewalNotFound) || errors.Is(err, ErrUnknownResource) ||
		errors.Is(err, errInvalidRenewal) {
		return true
	}
	// SQLite (pure Go driver) reports constraint failures in its message.
	msg := err.Error()
	return strings.Contains(msg, "constraint failed") || strings.Contains(msg, "no such table")
}
