package aco

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
)

// A minimal reader of the profile.proto format (gzipped protobuf), enough to
// check that a profile is well formed: every sample's locations, every
// location's functions and every string index resolve.

type profProto struct {
	strs        []string
	sampleTypes [][2]int64
	samples     [][]uint64          // location ids, leaf first
	locations   map[uint64][]uint64 // id -> function ids, innermost first
	functions   map[uint64]int64    // id -> name string index
}

func profParseFile(t *testing.T, path string) *profProto {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) == 0 {
		t.Fatalf("%s is empty", path)
	}
	p, err := profParse(b)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return p
}

func profParse(gz []byte) (*profProto, error) {
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, fmt.Errorf("not gzip: %v", err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("gzip: %v", err)
	}
	p := &profProto{locations: map[uint64][]uint64{}, functions: map[uint64]int64{}}
	err = pbFields(b, func(field int, wire int, v uint64, data []byte) error {
		switch field {
		case 1: // sample_type
			var vt [2]int64
			err := pbFields(data, func(f, w int, v uint64, _ []byte) error {
				if f == 1 || f == 2 {
					vt[f-1] = int64(v)
				}
				return nil
			})
			p.sampleTypes = append(p.sampleTypes, vt)
			return err
		case 2: // sample
			var locs []uint64
			err := pbFields(data, func(f, w int, v uint64, d []byte) error {
				if f == 1 {
					return pbRepeated(w, v, d, func(x uint64) { locs = append(locs, x) })
				}
				return nil
			})
			p.samples = append(p.samples, locs)
			return err
		case 4: // location
			var id uint64
			var fns []uint64
			err := pbFields(data, func(f, w int, v uint64, d []byte) error {
				switch f {
				case 1:
					id = v
				case 4: // line
					return pbFields(d, func(f, w int, v uint64, _ []byte) error {
						if f == 1 {
							fns = append(fns, v)
						}
						return nil
					})
				}
				return nil
			})
			p.locations[id] = fns
			return err
		case 5: // function
			var id uint64
			var name int64
			err := pbFields(data, func(f, w int, v uint64, _ []byte) error {
				switch f {
				case 1:
					id = v
				case 2:
					name = int64(v)
				}
				return nil
			})
			p.functions[id] = name
			return err
		case 6: // string_table
			p.strs = append(p.strs, string(data))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(p.strs) == 0 || p.strs[0] != "" {
		return nil, errors.New("string table does not start with the empty string")
	}
	for _, st := range p.sampleTypes {
		if st[0] >= int64(len(p.strs)) || st[1] >= int64(len(p.strs)) {
			return nil, errors.New("sample type: string index out of range")
		}
	}
	for i, s := range p.samples {
		for _, l := range s {
			if _, ok := p.locations[l]; !ok {
				return nil, fmt.Errorf("sample %d: unknown location %d", i, l)
			}
		}
	}
	for id, fns := range p.locations {
		for _, f := range fns {
			if _, ok := p.functions[f]; !ok {
				return nil, fmt.Errorf("location %d: unknown function %d", id, f)
			}
		}
	}
	for id, name := range p.functions {
		if name < 0 || name >= int64(len(p.strs)) {
			return nil, fmt.Errorf("function %d: string index out of range", id)
		}
	}
	return p, nil
}

func (p *profProto) sampleTypeNames() []string {
	var s []string
	for _, st := range p.sampleTypes {
		s = append(s, p.strs[st[0]]+"/"+p.strs[st[1]])
	}
	return s
}

func (p *profProto) hasSampleType(typ, unit string) bool {
	for _, st := range p.sampleTypes {
		if p.strs[st[0]] == typ && p.strs[st[1]] == unit {
			return true
		}
	}
	return false
}

// stack returns the function names of sample i, leaf first.
func (p *profProto) stack(i int) []string {
	var names []string
	for _, l := range p.samples[i] {
		for _, f := range p.locations[l] {
			names = append(names, p.strs[p.functions[f]])
		}
	}
	return names
}

// countStacks counts the samples with a frame of fn: with a frame of below
// further out, and without.
func (p *profProto) countStacks(fn, below string) (with, without int) {
	for i := range p.samples {
		st := p.stack(i)
		at := -1
		for j, name := range st {
			if strings.HasSuffix(name, fn) {
				at = j
				break
			}
		}
		if at < 0 {
			continue
		}
		found := false
		for _, name := range st[at:] {
			if strings.HasSuffix(name, below) {
				found = true
			}
		}
		if found {
			with++
		} else {
			without++
		}
	}
	return with, without
}

// pbFields calls f for each field of a protobuf message: varints with v,
// length-delimited fields with data.
func pbFields(b []byte, f func(field, wire int, v uint64, data []byte) error) error {
	for len(b) > 0 {
		key, n := pbVarint(b)
		if n <= 0 {
			return errors.New("bad field key")
		}
		b = b[n:]
		field, wire := int(key>>3), int(key&7)
		var v uint64
		var data []byte
		switch wire {
		case 0:
			v, n = pbVarint(b)
			if n <= 0 {
				return errors.New("bad varint")
			}
			b = b[n:]
		case 1:
			if len(b) < 8 {
				return errors.New("short fixed64")
			}
			b = b[8:]
		case 2:
			l, n := pbVarint(b)
			if n <= 0 || uint64(len(b)-n) < l {
				return errors.New("bad length")
			}
			data = b[n : n+int(l)]
			b = b[n+int(l):]
		case 5:
			if len(b) < 4 {
				return errors.New("short fixed32")
			}
			b = b[4:]
		default:
			return fmt.Errorf("unknown wire type %d", wire)
		}
		if field == 0 {
			return errors.New("field number 0")
		}
		if err := f(field, wire, v, data); err != nil {
			return err
		}
	}
	return nil
}

// pbRepeated reads a repeated varint field, packed or not.
func pbRepeated(wire int, v uint64, data []byte, f func(uint64)) error {
	if wire == 0 {
		f(v)
		return nil
	}
	for len(data) > 0 {
		x, n := pbVarint(data)
		if n <= 0 {
			return errors.New("bad packed varint")
		}
		f(x)
		data = data[n:]
	}
	return nil
}

func pbVarint(b []byte) (uint64, int) {
	var v uint64
	for i := 0; i < len(b) && i < 10; i++ {
		v |= uint64(b[i]&0x7f) << (7 * i)
		if b[i] < 0x80 {
			return v, i + 1
		}
	}
	return 0, 0
}
