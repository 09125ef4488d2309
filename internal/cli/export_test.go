package cli

// IsTerminal is isTerminal, for the external tests.
var IsTerminal = isTerminal
