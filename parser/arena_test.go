package parser

import (
	"reflect"
	"testing"
	"unsafe"
)

// TestArenaSlabs checks that arena.slabs lists every slab of the arena,
// each once: a slab left out would keep its chunks when a lean load's
// batch arena is reset, and grow without end.
func TestArenaSlabs(t *testing.T) {
	var a arena
	listed := map[uintptr]bool{}
	for _, s := range a.slabs() {
		p := reflect.ValueOf(s).Pointer()
		if listed[p] {
			t.Errorf("a slab at offset %d is listed twice", p-uintptr(unsafe.Pointer(&a)))
		}
		listed[p] = true
	}
	v := reflect.ValueOf(&a).Elem()
	for i := range v.NumField() {
		if !listed[v.Field(i).Addr().Pointer()] {
			t.Errorf("arena.%s is not listed by arena.slabs", v.Type().Field(i).Name)
		}
	}
	if len(listed) != v.NumField() {
		t.Errorf("arena.slabs lists %d slabs; the arena has %d fields", len(listed), v.NumField())
	}
}

// TestSlabReuse checks that a kept slab hands out its chunks again after a
// reset, and only then.
func TestSlabReuse(t *testing.T) {
	var s slab[int]
	s.setKeep()
	first := s.put(1)
	for i := range 100 {
		s.put(i)
	}
	chunks := len(s.chunks)
	s.reset()
	if again := s.put(2); again != first || *first != 2 {
		t.Errorf("after reset, the first value is at %p (was %p) and holds %d", again, first, *first)
	}
	for i := range 100 {
		s.put(i)
	}
	if len(s.chunks) != chunks {
		t.Errorf("%d chunks after the same puts again, %d before", len(s.chunks), chunks)
	}
	var plain slab[int]
	p := plain.put(1)
	plain.reset()
	if q := plain.put(2); q == p || *p != 1 {
		t.Error("a slab not kept reuses its memory after a reset")
	}
}
