package hwsim

import (
	"slices"
	"strings"
	"unicode/utf8"
)

// Tag limits of the newer TMS API, in characters (runes).
const (
	MaxTagsPerResource = 20
	MaxTagKeyLen       = 128
	MaxTagValueLen     = 255
)

// Tags are drawn from per-seed pools of keys and values: a resource's tags
// are then a few small integers, cheap to regenerate on every request and
// to match against a TMS filter without building strings.
const (
	keyPoolSize   = 256 // a power of two, so any odd stride visits distinct keys
	valuePoolSize = 512
)

// specialKeys and specialValues are the awkward cases a client must store
// unchanged; they open the pools so that they show up even in small datasets.
var specialKeys = []string{
	"env", "owner", "cost-center", "app", "team",
	"环境", "负责人", "成本中心", "部门/小组",
	"🚀rocket", `quote"key`, "it's", `back\slash`, "100%", "%s%d",
	"key with spaces", "a=b&c", "<tag>",
	"CaseSensitive", "casesensitive", // TMS keys are case-sensitive
	strings.Repeat("k", MaxTagKeyLen),
	strings.Repeat("键", MaxTagKeyLen),
}

var specialValues = []string{
	"", "prod", "张三", "研发部-成本中心",
	"🔥🚀✨", "家👨‍👩‍👧", `say "hi"`, "O'Reilly", `C:\Users\admin`, `\n is not a newline`,
	"100%", "%d%s%%", "a&b=c?d#e", "<b>bold</b>", `{"json": true}`,
	strings.Repeat("v", MaxTagValueLen),
	strings.Repeat("值", MaxTagValueLen),
	strings.Repeat("ab中", MaxTagValueLen/3),
}

var (
	keyWords = []string{"env", "owner", "app", "team", "tier", "region", "billing", "project", "service", "ticket", "环境", "业务", "负责人"}
	// valueRunes mixes ASCII, punctuation that needs escaping, and CJK.
	valueRunes = []rune("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:/=+@ \"'\\%&<>中文标签值测试研发生产华为云😀")
	keyRunes   = []rune("abcdefghijklmnopqrstuvwxyz0123456789-_.:/@中文键")
)

type tagPools struct {
	keys     []string
	values   []string
	keyIndex map[string]int
}

type tagRef struct{ key, value uint16 }

func newTagPools(seed int64) *tagPools {
	r := newRNG(seed, 0, saltPools)
	p := &tagPools{keyIndex: make(map[string]int, keyPoolSize)}
	for _, k := range specialKeys {
		p.addKey(k)
	}
	for len(p.keys) < keyPoolSize {
		p.addKey(randomKey(&r))
	}
	p.values = append(p.values, specialValues...)
	for len(p.values) < valuePoolSize {
		p.values = append(p.values, randomValue(&r))
	}
	return p
}

func (p *tagPools) addKey(k string) {
	if _, dup := p.keyIndex[k]; dup {
		return
	}
	p.keyIndex[k] = len(p.keys)
	p.keys = append(p.keys, k)
}

func randomKey(r *rng) string {
	var b strings.Builder
	b.WriteString(pick(r, keyWords))
	n := r.between(0, 12)
	if r.intn(16) == 0 {
		n = r.between(13, MaxTagKeyLen-utf8.RuneCountInString(b.String())-1)
	}
	if n > 0 {
		b.WriteByte('-')
	}
	for range n {
		b.WriteRune(pick(r, keyRunes))
	}
	return b.String()
}

func randomValue(r *rng) string {
	var n int
	switch p := r.intn(10); {
	case p < 6:
		n = r.between(0, 20)
	case p < 9:
		n = r.between(21, 100)
	default:
		n = r.between(101, MaxTagValueLen)
	}
	rs := make([]rune, n)
	for i := range rs {
		rs[i] = pick(r, valueRunes)
	}
	return string(rs)
}

// refs writes the tags of record i into buf: 0 to MaxTagsPerResource
// distinct keys (start + j*stride modulo a power of two, stride odd).
func (p *tagPools) refs(seed int64, i int, buf *[MaxTagsPerResource]tagRef) []tagRef {
	r := newRNG(seed, i, saltTags)
	n := 0
	if r.intn(4) != 0 {
		n = r.between(1, MaxTagsPerResource)
	}
	start := r.intn(keyPoolSize)
	stride := 2*r.intn(keyPoolSize/2) + 1
	for j := range n {
		v := r.intn(valuePoolSize)
		if r.intn(4) == 0 { // favour the awkward values
			v = r.intn(len(specialValues))
		}
		buf[j] = tagRef{key: uint16((start + j*stride) % keyPoolSize), value: uint16(v)}
	}
	return buf[:n]
}

// refs are record i's tags: SetTags's, else those of the seed. Caller
// holds d.mu (read).
func (d *dataset) refs(i int, buf *[MaxTagsPerResource]tagRef) []tagRef {
	if r, ok := d.retagged[i]; ok {
		return r
	}
	return d.pools.refs(d.seed, i, buf)
}

// tagMap returns the tags of record i, nil when it has none. Caller holds
// d.mu (read).
func (d *dataset) tagMap(i int) map[string]string {
	var buf [MaxTagsPerResource]tagRef
	refs := d.refs(i, &buf)
	if len(refs) == 0 {
		return nil
	}
	m := make(map[string]string, len(refs))
	for _, t := range refs {
		m[d.pools.keys[t.key]] = d.pools.values[t.value]
	}
	return m
}

// ref finds (or adds) a key and a value in the pools. Caller holds d.mu.
func (p *tagPools) ref(key, value string) tagRef {
	k, ok := p.keyIndex[key]
	if !ok {
		k = len(p.keys)
		p.addKey(key)
	}
	v := slices.Index(p.values, value)
	if v < 0 {
		v = len(p.values)
		p.values = append(p.values, value)
	}
	return tagRef{key: uint16(k), value: uint16(v)}
}
