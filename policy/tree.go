package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// The schema is at most four levels deep (document, rules, rule, list); a
// generous bound stops hostile nesting and YAML alias cycles early.
const maxDepth = 16

// maxNodes bounds the tree built from one document, YAML alias expansion
// included.
const maxNodes = 20000

// kind is the type of a node in the format-neutral tree.
type kind uint8

const (
	kindNull kind = iota
	kindString
	kindBool
	kindNumber
	kindOther // a YAML scalar of another type (timestamp, binary, custom tag)
	kindList
	kindMap
)

func (k kind) String() string {
	switch k {
	case kindNull:
		return "null"
	case kindString:
		return "a string"
	case kindBool:
		return "a boolean"
	case kindNumber:
		return "a number"
	case kindList:
		return "a list"
	case kindMap:
		return "a mapping"
	}
	return "a non-string scalar"
}

// node is one value of a parsed document, YAML or JSON, with its line.
type node struct {
	kind kind
	line int    // 1-based; 0 when unknown
	text string // scalar text
	list []*node
	keys []*node // mapping keys, kind string, in document order
	vals []*node // mapping values, parallel to keys
}

// syntaxError is a document the parser rejects; Load and Parse wrap it in
// an *Error with the line.
type syntaxError struct {
	line int
	msg  string
}

func (e *syntaxError) Error() string { return e.msg }

// yamlLine matches the line prefix yaml.v3 puts in its messages.
var yamlLine = regexp.MustCompile(`^yaml: line (\d+): `)

// parseYAML parses exactly one YAML document.
func parseYAML(data []byte) (root *node, err error) {
	defer func() {
		// The YAML parser is third-party code; whatever happens in it, an
		// input never crashes the caller.
		if r := recover(); r != nil {
			root, err = nil, &syntaxError{msg: fmt.Sprintf("yaml: parser failure: %v", r)}
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &syntaxError{msg: "empty document"}
		}
		return nil, yamlError(err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, yamlError(err)
		}
		return nil, &syntaxError{line: extra.Line, msg: "more than one YAML document"}
	}
	if doc.Kind == yaml.DocumentNode {
		if len(doc.Content) != 1 {
			return nil, &syntaxError{line: doc.Line, msg: "empty document"}
		}
		b := &yamlBuilder{}
		return b.build(doc.Content[0], 0)
	}
	b := &yamlBuilder{}
	return b.build(&doc, 0)
}

func yamlError(err error) error {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &syntaxError{line: line, msg: "yaml: " + msg[len(m[0]):]}
	}
	return &syntaxError{msg: msg}
}

type yamlBuilder struct{ count int }

func (b *yamlBuilder) build(y *yaml.Node, depth int) (*node, error) {
	b.count++
	if depth > maxDepth {
		return nil, &syntaxError{line: y.Line, msg: "document nested too deeply"}
	}
	if b.count > maxNodes {
		return nil, &syntaxError{line: y.Line, msg: "document too large"}
	}
	n := &node{line: y.Line}
	switch y.Kind {
	case yaml.AliasNode:
		if y.Alias == nil {
			return nil, &syntaxError{line: y.Line, msg: "yaml: unknown alias"}
		}
		a, err := b.build(y.Alias, depth+1)
		if err != nil {
			return nil, err
		}
		c := *a
		c.line = y.Line // report the line where the alias is used
		return &c, nil
	case yaml.ScalarNode:
		n.text = y.Value
		switch y.ShortTag() {
		case "!!str":
			n.kind = kindString
		case "!!null":
			n.kind = kindNull
		case "!!bool":
			n.kind = kindBool
		case "!!int", "!!float":
			n.kind = kindNumber
		default:
			n.kind = kindOther
		}
	case yaml.SequenceNode:
		n.kind = kindList
		for _, c := range y.Content {
			v, err := b.build(c, depth+1)
			if err != nil {
				return nil, err
			}
			n.list = append(n.list, v)
		}
	case yaml.MappingNode:
		n.kind = kindMap
		if len(y.Content)%2 != 0 {
			return nil, &syntaxError{line: y.Line, msg: "yaml: malformed mapping"}
		}
		for i := 0; i < len(y.Content); i += 2 {
			k, v := y.Content[i], y.Content[i+1]
			if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
				return nil, &syntaxError{line: k.Line, msg: "yaml: merge keys (<<) are not supported"}
			}
			kn, err := b.build(k, depth+1)
			if err != nil {
				return nil, err
			}
			if kn.kind != kindString {
				return nil, &syntaxError{line: k.Line, msg: fmt.Sprintf("mapping key must be a string, got %v", kn.kind)}
			}
			vn, err := b.build(v, depth+1)
			if err != nil {
				return nil, err
			}
			n.keys = append(n.keys, kn)
			n.vals = append(n.vals, vn)
		}
	default:
		return nil, &syntaxError{line: y.Line, msg: "yaml: unexpected node"}
	}
	return n, nil
}

// parseJSON parses exactly one JSON value, recording the line of every
// token.
type jsonParser struct {
	dec   *json.Decoder
	data  []byte
	nl    []int // offsets of '\n' in the input
	count int
}

func parseJSON(data []byte) (*node, error) {
	p := &jsonParser{dec: json.NewDecoder(bytes.NewReader(data)), data: data}
	p.dec.UseNumber()
	for i, c := range data {
		if c == '\n' {
			p.nl = append(p.nl, i)
		}
	}
	tok, err := p.token()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &syntaxError{msg: "empty document"}
		}
		return nil, err
	}
	root, err := p.value(tok, 0)
	if err != nil {
		return nil, err
	}
	if _, err := p.dec.Token(); !errors.Is(err, io.EOF) {
		return nil, &syntaxError{line: p.line(), msg: "json: data after the top-level value"}
	}
	return root, nil
}

// line is the line of the token just read: JSON tokens never span lines,
// so the line of its end is the line of its start.
func (p *jsonParser) line() int {
	off := int(p.dec.InputOffset())
	return sort.SearchInts(p.nl, off) + 1
}

func (p *jsonParser) lineAt(off int64) int {
	return sort.SearchInts(p.nl, int(off)) + 1
}

func (p *jsonParser) token() (json.Token, error) {
	start := p.dec.InputOffset()
	tok, err := p.dec.Token()
	if err == nil {
		if s, ok := tok.(string); ok && strings.ContainsRune(s, utf8.RuneError) {
			if err := p.checkEscapes(start); err != nil {
				return nil, err
			}
		}
		return tok, nil
	}
	if errors.Is(err, io.EOF) {
		return nil, err
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return nil, &syntaxError{line: p.lineAt(se.Offset), msg: "json: " + se.Error()}
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, &syntaxError{line: p.line(), msg: "json: unexpected end of input"}
	}
	return nil, &syntaxError{line: p.line(), msg: "json: " + err.Error()}
}

// checkEscapes checks the string token that starts at or after offset
// start and ends at the decoder's offset for \u escapes that are not a
// character: a lone UTF-16 surrogate, which encoding/json silently turns
// into U+FFFD (RFC 8259 §8.2). The document itself is valid UTF-8 (Parse
// checks it first), so a U+FFFD in a decoded string comes either from the
// text, which is fine, or from such an escape, which is not.
func (p *jsonParser) checkEscapes(start int64) error {
	raw := p.data[start:p.dec.InputOffset()]
	raw = raw[bytes.IndexByte(raw, '"')+1:]
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' {
			continue
		}
		i++
		if i >= len(raw) || raw[i] != 'u' {
			continue // a one-character escape; \\ skips the escaped backslash
		}
		r1, ok := hex4(raw[i+1:])
		if !ok || !utf16.IsSurrogate(r1) {
			continue
		}
		if r1 < 0xdc00 && len(raw) >= i+11 && raw[i+5] == '\\' && raw[i+6] == 'u' {
			if r2, ok := hex4(raw[i+7:]); ok && utf16.DecodeRune(r1, r2) != utf8.RuneError {
				i += 10 // a surrogate pair: one character
				continue
			}
		}
		return &syntaxError{line: p.line(), msg: fmt.Sprintf("json: \\u%04x is a lone UTF-16 surrogate, not a character", r1)}
	}
	return nil
}

// hex4 decodes the four hexadecimal digits at the start of b.
func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	n, err := strconv.ParseUint(string(b[:4]), 16, 16)
	return rune(n), err == nil
}

// next reads a token where one is required.
func (p *jsonParser) next() (json.Token, error) {
	tok, err := p.token()
	if errors.Is(err, io.EOF) {
		return nil, &syntaxError{line: p.line(), msg: "json: unexpected end of input"}
	}
	return tok, err
}

func (p *jsonParser) value(tok json.Token, depth int) (*node, error) {
	p.count++
	line := p.line()
	if depth > maxDepth {
		return nil, &syntaxError{line: line, msg: "document nested too deeply"}
	}
	if p.count > maxNodes {
		return nil, &syntaxError{line: line, msg: "document too large"}
	}
	n := &node{line: line}
	switch t := tok.(type) {
	case nil:
		n.kind = kindNull
	case string:
		n.kind, n.text = kindString, t
	case bool:
		n.kind, n.text = kindBool, strconv.FormatBool(t)
	case json.Number:
		n.kind, n.text = kindNumber, t.String()
	case json.Delim:
		switch t {
		case '[':
			n.kind = kindList
			for {
				tok, err := p.next()
				if err != nil {
					return nil, err
				}
				if tok == json.Delim(']') {
					break
				}
				v, err := p.value(tok, depth+1)
				if err != nil {
					return nil, err
				}
				n.list = append(n.list, v)
			}
		case '{':
			n.kind = kindMap
			for {
				tok, err := p.next()
				if err != nil {
					return nil, err
				}
				if tok == json.Delim('}') {
					break
				}
				k, ok := tok.(string)
				if !ok {
					return nil, &syntaxError{line: p.line(), msg: "json: object key must be a string"}
				}
				kn := &node{kind: kindString, text: k, line: p.line()}
				tok, err = p.next()
				if err != nil {
					return nil, err
				}
				vn, err := p.value(tok, depth+1)
				if err != nil {
					return nil, err
				}
				n.keys = append(n.keys, kn)
				n.vals = append(n.vals, vn)
			}
		default:
			return nil, &syntaxError{line: line, msg: fmt.Sprintf("json: unexpected %q", rune(t))}
		}
	default:
		return nil, &syntaxError{line: line, msg: "json: unexpected token"}
	}
	return n, nil
}
