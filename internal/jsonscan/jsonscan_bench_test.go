package jsonscan

import (
	"strings"
	"testing"
)

func BenchmarkShapes(b *testing.B) {
	shapes := map[string][]byte{
		"deep":    []byte(`{"x":` + strings.Repeat("[", 3000) + strings.Repeat("]", 3000) + `}`),
		"members": []byte(`{"x0":0` + strings.Repeat(`,"x":0`, 1000) + `}`),
		"array":   []byte(`{"x":["a"` + strings.Repeat(`,"a"`, 1500) + `]}`),
		"escapes": []byte(`{"x":"` + strings.Repeat(`\u00e9\ud83d\ude00\n`, 300) + `"}`),
		"plain":   []byte(`{"scope":"s` + strings.Repeat(` s`, 3000) + `"}`),
	}
	for name, in := range shapes {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			for b.Loop() {
				_ = Members(in, func(Member) error { return nil })
			}
		})
	}
}

func BenchmarkTopLevel(b *testing.B) {
	shapes := map[string][]byte{
		"deep":    []byte(`{"x":` + strings.Repeat("[", 3000) + strings.Repeat("]", 3000) + `}`),
		"members": []byte(`{"x0":0` + strings.Repeat(`,"x":0`, 1000) + `}`),
		"array":   []byte(`{"x":["a"` + strings.Repeat(`,"a"`, 1500) + `]}`),
		"escapes": []byte(`{"x":"` + strings.Repeat(`\u00e9\ud83d\ude00\n`, 300) + `"}`),
	}
	for name, in := range shapes {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			for b.Loop() {
				_ = TopLevel(in, func(Member) error { return nil })
			}
		})
	}
}
