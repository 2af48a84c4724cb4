package rsapkcs1

import (
	"encoding/asn1"
	"strconv"
	"strings"
	"testing"
)

// digestInfoDER is the DER of DigestInfo ::= SEQUENCE { digestAlgorithm
// AlgorithmIdentifier, digest OCTET STRING } with NULL parameters.
func digestInfoDER(t *testing.T, oid string, digest []byte) []byte {
	t.Helper()
	var id asn1.ObjectIdentifier
	for _, p := range strings.Split(oid, ".") {
		n, err := strconv.Atoi(p)
		if err != nil {
			t.Fatal(err)
		}
		id = append(id, n)
	}
	type algorithmIdentifier struct {
		Algorithm  asn1.ObjectIdentifier
		Parameters asn1.RawValue
	}
	der, err := asn1.Marshal(struct {
		Alg    algorithmIdentifier
		Digest []byte
	}{algorithmIdentifier{id, asn1.NullRawValue}, digest})
	if err != nil {
		t.Fatal(err)
	}
	return der
}
