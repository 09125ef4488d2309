package workerapp

import (
	"testing"

	"github.com/stretchr/testify/assert"
	enumspb "go.temporal.io/api/enums/v1"
)

func TestCreateCommandIsTheOfficialCLIs(t *testing.T) {
	got := SearchAttributesCommand("prod", map[string]enumspb.IndexedValueType{
		"ExpireDays":       enumspb.INDEXED_VALUE_TYPE_INT,
		"ExpirySyncStatus": enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		"Owners":           enumspb.INDEXED_VALUE_TYPE_KEYWORD_LIST,
	})
	assert.Equal(t, "temporal operator search-attribute create --namespace prod"+
		" --name ExpireDays --type Int --name ExpirySyncStatus --type Keyword --name Owners --type KeywordList", got)
}
