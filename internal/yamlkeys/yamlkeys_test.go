package yamlkeys

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

func check(t *testing.T, doc string) error {
	t.Helper()
	var n yaml.Node
	require.NoError(t, yaml.Unmarshal([]byte(doc), &n))
	return Unique(&n)
}

func TestARepeatedKeyIsNamedWithBothLines(t *testing.T) {
	for name, tc := range map[string]struct{ doc, want string }{
		"top level":         {"a: 1\nb: 2\na: 3\n", `line 3: key "a" is repeated (first at line 1)`},
		"in a list item":    {"l:\n  - x: 1\n    y: 2\n    x: 3\n", `line 4: key "x" is repeated (first at line 2)`},
		"nested mapping":    {"l:\n  - m: {p: 1, p: 2}\n", `line 2: key "p" is repeated (first at line 2)`},
		"deep":              {"a:\n  b:\n    c:\n      d: 1\n      d: 2\n", `line 5: key "d" is repeated (first at line 4)`},
		"quoted and plain":  {"a: 1\n\"a\": 2\n", `line 2: key "a" is repeated (first at line 1)`},
		"second list block": {"l:\n  - 1\nl:\n  - 2\n", `line 3: key "l" is repeated (first at line 1)`},
	} {
		t.Run(name, func(t *testing.T) {
			err := check(t, tc.doc)
			require.Error(t, err)
			assert.Equal(t, tc.want+": give it once", err.Error())
		})
	}
}

func TestDistinctKeysPass(t *testing.T) {
	for _, doc := range []string{
		"",
		"a: 1\nb: 2\n",
		"l:\n  - x: 1\n  - x: 2\n",       // the same key in two items
		"a: {x: 1}\nb: {x: 1}\n",         // the same key in two mappings
		"a: &x {k: 1}\nb: *x\nc: *x\n",   // an alias used twice
		"? [1, 2]\n: a\n? [1, 2]\n: b\n", // complex keys are not compared
	} {
		assert.NoError(t, check(t, doc), doc)
	}
}
