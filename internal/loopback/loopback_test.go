package loopback

import "testing"

func TestIs(t *testing.T) {
	tests := []struct {
		host string
		want bool
	}{
		{"127.0.0.1", true},
		{"127.1.2.3", true},
		{"::1", true},
		{"localhost", false},
		{"LOCALHOST", false},
		{"127.attacker.example", false},
		{"127.0.0.1.nip.io", false},
		{"[::1]", false}, // brackets belong to the URL, not the host
		{"10.0.0.1", false},
		{"::ffff:7f00:1", true}, // IPv4-mapped 127.0.0.1
		{"", false},
	}
	for _, tt := range tests {
		if got := Is(tt.host); got != tt.want {
			t.Errorf("Is(%q) = %v, want %v", tt.host, got, tt.want)
		}
	}
}
