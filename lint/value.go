package lint

import (
	"encoding"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unsafe"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/dfw-project/dfw/lint/facts"
)

// The input document is handed to OPA as an ast.Value. Going through JSON
// text (encoding/json, then ast.ValueFromReader, which decodes into
// interface{} values and converts those) took most of a check's time on
// large rulesets: astOf builds the same value from the Go document
// directly, with an encoder per type made once, following encoding/json's
// rules for the types the document uses (struct fields by their json tag,
// omitempty, embedded structs, nil slices and pointers as null, maps with
// string keys). A type with its own MarshalJSON or MarshalText goes
// through JSON, as before. TestAstOfMatchesJSON compares both on real
// documents.

type encodeFunc func(st *encState, v reflect.Value) (*ast.Term, error)

// encState is one conversion's state: the strings and small numbers made
// so far, shared by the places they occur again (terms are never changed
// once made; OPA shares terms the same way). A large ruleset's document
// repeats its table, chain, module and option names and small numbers
// thousands of times. The caches are direct-mapped (a slot per hash, the
// latest term kept), so that the many values that occur once cost one
// probe. (Sharing equal small objects as well made the value of the
// 80,000-rule ruleset a third smaller again, but cost more time than the
// collector saved.)
type encState struct {
	cpus int // CPUs a long list may be converted on
	hint int // about how many values the document has (see newEncState)
	strs []*ast.Term
	ints []*ast.Term
	// Lists of one or two strings (hooks, an option's arguments) and of
	// one or two small numbers (a port range) are shared the same way.
	// An empty list is OPA's own interned one.
	strLists []strList
	intLists []intList
	// Small objects are shared by their keys' and values' terms: a value
	// made of shared terms (strings, small numbers, short lists, other
	// shared objects) is found again by their addresses. A ruleset
	// repeats its protocols, port ranges, options and matches.
	objs []sharedObj
}

// newEncState makes a conversion's state, its caches sized for a document
// of about hint rules, chains and facts: up to 2 MB for a large one, a
// few hundred KB for a host's (a fleet converts thousands).
func newEncState(cpus, hint int) *encState {
	size := func(max int) int {
		n := 1 << 8
		for n < max && n < 2*hint {
			n <<= 1
		}
		return n
	}
	return &encState{
		cpus: cpus, hint: hint,
		strs: make([]*ast.Term, size(1<<14)), ints: make([]*ast.Term, 1<<12),
		strLists: make([]strList, size(1<<13)), intLists: make([]intList, size(1<<12)),
		objs: make([]sharedObj, size(1<<13)),
	}
}

// docHint is newEncState's hint for v: the rules, chains, commands and
// reachability facts of a document, or as large as it gets.
func docHint(v any) int {
	if d, ok := v.(*facts.Document); ok {
		return d.NumRules() + len(d.Chains) + len(d.Commands) + len(d.Analysis.Reachability)
	}
	return 1 << 20
}

// maxSharedFields is the most fields an object shared by sharedObj has.
const maxSharedFields = 8

type sharedObj struct {
	typ reflect.Type
	n   int
	kv  [2 * maxSharedFields]*ast.Term
	t   *ast.Term
}

// object is the term of the object of items, of a value of type typ: an
// equal one made before when there is one.
func (st *encState) object(typ reflect.Type, items [][2]*ast.Term) *ast.Term {
	if len(items) > maxSharedFields {
		return ast.NewTerm(ast.NewObject(items...))
	}
	h := uint64(len(items))
	for _, kv := range items {
		h = (h ^ uint64(uintptr(unsafe.Pointer(kv[0])))) * 0x9e3779b97f4a7c15
		h = (h ^ uint64(uintptr(unsafe.Pointer(kv[1])))) * 0x9e3779b97f4a7c15
	}
	slot := &st.objs[(h>>40)&uint64(len(st.objs)-1)]
	if slot.t != nil && slot.typ == typ && slot.n == len(items) {
		same := true
		for i, kv := range items {
			if slot.kv[2*i] != kv[0] || slot.kv[2*i+1] != kv[1] {
				same = false
				break
			}
		}
		if same {
			return slot.t
		}
	}
	slot.typ, slot.n = typ, len(items)
	for i, kv := range items {
		slot.kv[2*i], slot.kv[2*i+1] = kv[0], kv[1]
	}
	slot.t = ast.NewTerm(ast.NewObject(items...))
	return slot.t
}

type strList struct {
	a, b string
	n    int
	t    *ast.Term
}

type intList struct {
	a, b int64
	n    int
	t    *ast.Term
}

// maxSharedString is the longest string shared.
const maxSharedString = 64

var strSeed = maphash.MakeSeed()

func (st *encState) str(s string) *ast.Term {
	if len(s) > maxSharedString {
		return ast.StringTerm(s)
	}
	slot := &st.strs[maphash.String(strSeed, s)&uint64(len(st.strs)-1)]
	if t := *slot; t != nil && string(t.Value.(ast.String)) == s {
		return t
	}
	t := ast.StringTerm(s)
	*slot = t
	return t
}

func (st *encState) int(n int64) *ast.Term {
	if n < 0 || n >= int64(len(st.ints)) {
		return ast.NumberTerm(json.Number(strconv.FormatInt(n, 10)))
	}
	if t := st.ints[n]; t != nil {
		return t
	}
	t := ast.NumberTerm(json.Number(strconv.FormatInt(n, 10)))
	st.ints[n] = t
	return t
}

// strList is the term of v, a list of one or two strings.
func (st *encState) strList(v reflect.Value) *ast.Term {
	l := strList{a: v.Index(0).String(), n: v.Len()}
	if l.n == 2 {
		l.b = v.Index(1).String()
	}
	mk := func() *ast.Term {
		if l.n == 1 {
			return ast.ArrayTerm(st.str(l.a))
		}
		return ast.ArrayTerm(st.str(l.a), st.str(l.b))
	}
	if len(l.a)+len(l.b) > maxSharedString {
		return mk()
	}
	h := maphash.String(strSeed, l.a)
	if l.n == 2 {
		h = h*31 + maphash.String(strSeed, l.b)
	}
	slot := &st.strLists[h&uint64(len(st.strLists)-1)]
	if slot.t != nil && slot.n == l.n && slot.a == l.a && slot.b == l.b {
		return slot.t
	}
	l.t = mk()
	*slot = l
	return l.t
}

// intList is the term of v, a list of one or two integers.
func (st *encState) intList(v reflect.Value) *ast.Term {
	l := intList{a: v.Index(0).Int(), n: v.Len()}
	if l.n == 2 {
		l.b = v.Index(1).Int()
	}
	h := uint64(l.a)*0x9e3779b97f4a7c15 ^ uint64(l.b)*0xc2b2ae3d27d4eb4f ^ uint64(l.n)
	slot := &st.intLists[(h>>32)&uint64(len(st.intLists)-1)]
	if slot.t != nil && slot.n == l.n && slot.a == l.a && slot.b == l.b {
		return slot.t
	}
	if l.n == 1 {
		l.t = ast.ArrayTerm(st.int(l.a))
	} else {
		l.t = ast.ArrayTerm(st.int(l.a), st.int(l.b))
	}
	*slot = l
	return l.t
}

var (
	trueTerm  = ast.BooleanTerm(true)
	falseTerm = ast.BooleanTerm(false)
)

var encoders sync.Map // reflect.Type → encodeFunc

var (
	jsonMarshaler = reflect.TypeFor[json.Marshaler]()
	textMarshaler = reflect.TypeFor[encoding.TextMarshaler]()
)

// astOf converts v as encoding/json and ast.ValueFromReader would, on up
// to cpus CPUs.
func astOf(v any, cpus int) (ast.Value, error) {
	rv := reflect.ValueOf(v)
	if !rv.IsValid() {
		return ast.Null{}, nil
	}
	t, err := encoderFor(rv.Type())(newEncState(cpus, docHint(v)), rv)
	if err != nil {
		return nil, err
	}
	return t.Value, nil
}

func encoderFor(t reflect.Type) encodeFunc {
	if f, ok := encoders.Load(t); ok {
		return f.(encodeFunc)
	}
	// Recursive types: a forwarding function until the real one is made.
	var real encodeFunc
	var wg sync.WaitGroup
	wg.Add(1)
	fwd := encodeFunc(func(st *encState, v reflect.Value) (*ast.Term, error) {
		wg.Wait()
		return real(st, v)
	})
	if f, loaded := encoders.LoadOrStore(t, fwd); loaded {
		return f.(encodeFunc)
	}
	real = newEncoder(t)
	wg.Done()
	encoders.Store(t, real)
	return real
}

var nullTerm = ast.NullTerm()

func newEncoder(t reflect.Type) encodeFunc {
	if t.Kind() != reflect.Pointer && (t.Implements(jsonMarshaler) || t.Implements(textMarshaler) ||
		reflect.PointerTo(t).Implements(jsonMarshaler) || reflect.PointerTo(t).Implements(textMarshaler)) {
		return viaJSON
	}
	switch t.Kind() {
	case reflect.Bool:
		return func(_ *encState, v reflect.Value) (*ast.Term, error) {
			if v.Bool() {
				return trueTerm, nil
			}
			return falseTerm, nil
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return func(st *encState, v reflect.Value) (*ast.Term, error) { return st.int(v.Int()), nil }
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return func(st *encState, v reflect.Value) (*ast.Term, error) {
			if n := v.Uint(); n < 1<<12 {
				return st.int(int64(n)), nil
			}
			return ast.NumberTerm(json.Number(strconv.FormatUint(v.Uint(), 10))), nil
		}
	case reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128, reflect.Chan, reflect.Func, reflect.UnsafePointer:
		return viaJSON
	case reflect.String:
		return func(st *encState, v reflect.Value) (*ast.Term, error) { return st.str(v.String()), nil }
	case reflect.Interface:
		return func(st *encState, v reflect.Value) (*ast.Term, error) {
			if v.IsNil() {
				return nullTerm, nil
			}
			e := v.Elem()
			return encoderFor(e.Type())(st, e)
		}
	case reflect.Pointer:
		elem := t.Elem()
		return func(st *encState, v reflect.Value) (*ast.Term, error) {
			if v.IsNil() {
				return nullTerm, nil
			}
			if v.Type().Implements(jsonMarshaler) || v.Type().Implements(textMarshaler) {
				return viaJSON(st, v)
			}
			return encoderFor(elem)(st, v.Elem())
		}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return viaJSON // []byte is base64 text
		}
		return seqEncoder(t, true)
	case reflect.Array:
		return seqEncoder(t, false)
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return viaJSON
		}
		elem := t.Elem()
		return func(st *encState, v reflect.Value) (*ast.Term, error) {
			if v.IsNil() {
				return nullTerm, nil
			}
			enc := encoderFor(elem)
			items := make([][2]*ast.Term, 0, v.Len())
			it := v.MapRange()
			for it.Next() {
				val, err := enc(st, it.Value())
				if err != nil {
					return nil, err
				}
				items = append(items, [2]*ast.Term{st.str(it.Key().String()), val})
			}
			return ast.NewTerm(ast.NewObject(items...)), nil
		}
	case reflect.Struct:
		return structEncoder(t)
	}
	return viaJSON
}

func seqEncoder(t reflect.Type, slice bool) encodeFunc {
	elem := t.Elem()
	// Elements that are plain strings or integers (not converted by their
	// own MarshalJSON or MarshalText) make lists that may be shared.
	plain := !(elem.Implements(jsonMarshaler) || elem.Implements(textMarshaler) ||
		reflect.PointerTo(elem).Implements(jsonMarshaler) || reflect.PointerTo(elem).Implements(textMarshaler))
	return func(st *encState, v reflect.Value) (*ast.Term, error) {
		if slice && v.IsNil() {
			return nullTerm, nil
		}
		n := v.Len()
		if n == 0 {
			return ast.InternedEmptyArray, nil
		}
		if n <= 2 && plain {
			switch elem.Kind() {
			case reflect.String:
				return st.strList(v), nil
			case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
				return st.intList(v), nil
			}
		}
		enc := encoderFor(elem)
		terms := make([]*ast.Term, n)
		// A long list (the rules of a large ruleset, their facts) is
		// converted in parts on every CPU.
		parts := min(st.cpus, n/minPart)
		if parts < 2 {
			if err := encodeRange(st, enc, v, terms, 0, n); err != nil {
				return nil, err
			}
			return ast.ArrayTerm(terms...), nil
		}
		errs := make([]error, parts)
		var wg sync.WaitGroup
		for p := range parts {
			wg.Go(func() { errs[p] = encodeRange(newEncState(1, st.hint), enc, v, terms, p*n/parts, (p+1)*n/parts) })
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				return nil, err
			}
		}
		return ast.ArrayTerm(terms...), nil
	}
}

// minPart is the fewest elements of a list converted on a CPU of its own.
const minPart = 4096

// encodeRange converts the elements lo to hi of v into terms.
func encodeRange(st *encState, enc encodeFunc, v reflect.Value, terms []*ast.Term, lo, hi int) error {
	for i := lo; i < hi; i++ {
		x, err := enc(st, v.Index(i))
		if err != nil {
			return err
		}
		terms[i] = x
	}
	return nil
}

// field is a struct field as encoding/json sees it: its key, the index
// path to it (through embedded structs), and omitempty.
type field struct {
	key       *ast.Term
	name      string
	index     []int
	omitEmpty bool
	depth     int
}

func structEncoder(t reflect.Type) encodeFunc {
	fields := jsonFields(t)
	return func(st *encState, v reflect.Value) (*ast.Term, error) {
		var buf [24][2]*ast.Term // NewObject copies the items
		items := buf[:0]
	next:
		for i := range fields {
			f := &fields[i]
			fv := v
			for _, x := range f.index {
				if fv.Kind() == reflect.Pointer {
					if fv.IsNil() {
						continue next
					}
					fv = fv.Elem()
				}
				fv = fv.Field(x)
			}
			if f.omitEmpty && isEmpty(fv) {
				continue
			}
			val, err := encoderFor(fv.Type())(st, fv)
			if err != nil {
				return nil, err
			}
			items = append(items, [2]*ast.Term{f.key, val})
		}
		return st.object(t, items), nil
	}
}

// jsonFields lists t's fields as encoding/json encodes them: exported
// fields by their tag name, fields of untagged embedded structs promoted,
// an outer field hiding a deeper one of the same name (and two at the
// same depth hiding each other unless one is tagged).
func jsonFields(t reflect.Type) []field {
	var all []field
	var walk func(t reflect.Type, index []int, depth int)
	walk = func(t reflect.Type, index []int, depth int) {
		for i := range t.NumField() {
			sf := t.Field(i)
			tag := sf.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			idx := append(append([]int{}, index...), i)
			ft := sf.Type
			if sf.Anonymous && name == "" {
				if ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if ft.Kind() == reflect.Struct {
					walk(ft, idx, depth+1)
					continue
				}
			}
			if !sf.IsExported() {
				continue
			}
			if name == "" {
				name = sf.Name
			}
			all = append(all, field{name: name, index: idx, omitEmpty: strings.Contains(","+opts+",", ",omitempty,"),
				depth: depth, key: ast.StringTerm(name)})
			if tag != "" {
				all[len(all)-1].depth = depth*2 - 1 // tagged wins over untagged at its depth
			} else {
				all[len(all)-1].depth = depth * 2
			}
		}
	}
	walk(t, nil, 0)
	best := map[string]int{}
	count := map[string]int{}
	for _, f := range all {
		d, ok := best[f.name]
		switch {
		case !ok || f.depth < d:
			best[f.name], count[f.name] = f.depth, 1
		case f.depth == d:
			count[f.name]++
		}
	}
	var out []field
	for _, f := range all {
		if best[f.name] == f.depth && count[f.name] == 1 {
			out = append(out, f)
		}
	}
	return out
}

func isEmpty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool:
		return !v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int() == 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return v.Uint() == 0
	case reflect.Float32, reflect.Float64:
		return v.Float() == 0
	case reflect.Interface, reflect.Pointer:
		return v.IsNil()
	}
	return false
}

// viaJSON converts one value through JSON text.
func viaJSON(_ *encState, v reflect.Value) (*ast.Term, error) {
	b, err := json.Marshal(v.Interface())
	if err != nil {
		return nil, err
	}
	x, err := ast.ValueFromReader(strings.NewReader(string(b)))
	if err != nil {
		return nil, fmt.Errorf("input document: %w", err)
	}
	return ast.NewTerm(x), nil
}
