package hwsim

import (
	"encoding/hex"
	"strconv"
)

// Salts keep the random streams of different record aspects independent, so
// a field can be rebuilt from (seed, index) without replaying the others.
const (
	saltGroup uint64 = 0x1f3a5c7e9b2d4f61 + iota
	saltID
	saltOrder
	saltDetail
	saltName
	saltTags
	saltProjects
	saltPools
	saltRemove
	saltIDKey
	saltMisc
	saltExpire
	saltChurn
)

// splitmix64 is a fast, well-mixed 64-bit hash. Every generated field comes
// from it, which is what makes records reproducible from (seed, index) alone.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// rng is a tiny deterministic stream; a value type so that generating a
// record allocates nothing.
type rng struct{ state uint64 }

func newRNG(seed int64, index int, salt uint64) rng {
	return rng{state: splitmix64(uint64(seed)^salt) ^ splitmix64(uint64(index)*0x632be59bd9b4e019+salt)}
}

func (r *rng) next() uint64 {
	r.state += 0x9e3779b97f4a7c15
	return splitmix64(r.state)
}

// intn returns a value in [0, n); the modulo bias is irrelevant for test data.
func (r *rng) intn(n int) int { return int(r.next() % uint64(n)) }

// between returns a value in [lo, hi].
func (r *rng) between(lo, hi int) int { return lo + r.intn(hi-lo+1) }

// pick returns one element of list.
func pick[T any](r *rng, list []T) T { return list[r.intn(len(list))] }

// hexID returns n lowercase hex characters (n even, n <= 32).
func (r *rng) hexID(n int) string {
	var b [16]byte
	fillRandom(r, b[:n/2])
	return hex.EncodeToString(b[:n/2])
}

// uuid returns a random version-4 UUID string.
func (r *rng) uuid() string {
	var b [16]byte
	fillRandom(r, b[:])
	return formatUUID(b)
}

func fillRandom(r *rng, b []byte) {
	for i := 0; i < len(b); i += 8 {
		v := r.next()
		for j := 0; j < 8 && i+j < len(b); j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
}

func formatUUID(b [16]byte) string {
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // RFC 4122 variant
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:36], b[10:16])
	return string(s[:])
}

// idCodec embeds a record index in the last 48 bits (the UUID "node" field)
// of its resource id through a keyed bijection. Looking an id up is then a
// decode plus a regenerate-and-compare, with no id->index map: that map
// would cost tens of megabytes at a million records.
type idCodec struct{ key uint64 }

const (
	mask48 = 1<<48 - 1
	mulA   = 0x9e3779b97f4b // odd, so invertible modulo 2^48
	mulB   = 0xc2b2ae3d27d5 // odd
)

var invA, invB = inverse48(mulA), inverse48(mulB)

// inverse48 returns the multiplicative inverse of an odd m modulo 2^48
// (Newton iteration doubles the correct low bits each round).
func inverse48(m uint64) uint64 {
	inv := m
	for range 6 {
		inv *= 2 - m*inv
	}
	return inv & mask48
}

func newIDCodec(seed int64) idCodec {
	return idCodec{key: splitmix64(uint64(seed)^saltIDKey) & mask48}
}

// encode maps an index to a scrambled 48-bit value. x ^= x>>24 is its own
// inverse on 48-bit values, and the multiplications are invertible.
func (c idCodec) encode(index int) uint64 {
	x := (uint64(index) ^ c.key) & mask48
	x = x * mulA & mask48
	x ^= x >> 24
	x = x * mulB & mask48
	x ^= x >> 24
	return x
}

func (c idCodec) decode(x uint64) uint64 {
	x &= mask48
	x ^= x >> 24
	x = x * invB & mask48
	x ^= x >> 24
	x = x * invA & mask48
	return x ^ c.key
}

// resourceID returns the UUID of record index: 80 random bits (with the
// version and variant bits set) followed by the encoded index.
func resourceID(seed int64, codec idCodec, index int) string {
	r := newRNG(seed, index, saltID)
	var b [16]byte
	fillRandom(&r, b[:10])
	node := codec.encode(index)
	for j := 0; j < 6; j++ {
		b[15-j] = byte(node >> (8 * j))
	}
	return formatUUID(b)
}

// indexFromID recovers the candidate index of a resource id; the caller must
// still compare the regenerated id, since any 12 hex digits decode to some
// index.
func indexFromID(codec idCodec, id string) (int, bool) {
	if len(id) != 36 {
		return 0, false
	}
	node, err := strconv.ParseUint(id[24:], 16, 64)
	if err != nil {
		return 0, false
	}
	idx := codec.decode(node)
	if idx > 1<<40 {
		return 0, false
	}
	return int(idx), true
}
