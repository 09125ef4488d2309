// Package yamlkeys refuses YAML documents that repeat a mapping key. Read
// into a yaml.Node, a repeated key is kept twice and whatever walks the
// mapping keeps one of the two: an accounts file with two accounts: blocks
// would lose the first list without a word.
package yamlkeys

import (
	"fmt"

	"go.yaml.in/yaml/v3"
)

// Unique returns an error naming the first key repeated in a mapping at
// any depth of n, with both lines. Aliases are not followed: the node
// they name is checked where it is anchored.
func Unique(n *yaml.Node) error {
	if n == nil || n.Kind == yaml.AliasNode {
		return nil
	}
	if n.Kind == yaml.MappingNode {
		if err := uniqueIn(n); err != nil {
			return err
		}
	}
	for _, c := range n.Content {
		if err := Unique(c); err != nil {
			return err
		}
	}
	return nil
}

// uniqueIn checks one mapping's own keys. Only scalar keys are compared:
// the files this guards have no others.
func uniqueIn(m *yaml.Node) error {
	first := map[string]int{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k := m.Content[i]
		if k.Kind != yaml.ScalarNode {
			continue
		}
		if line, dup := first[k.Value]; dup {
			return fmt.Errorf("line %d: key %q is repeated (first at line %d): give it once", k.Line, k.Value, line)
		}
		first[k.Value] = k.Line
	}
	return nil
}
