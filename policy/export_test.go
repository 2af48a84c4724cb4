package policy

// ParseYAML and ParseJSON parse with one parser whatever the content, so
// that tests and the fuzzer reach both parsers with any input.
var (
	ParseYAML = func(data []byte) (*Policy, error) { return parse(data, yamlFormat) }
	ParseJSON = func(data []byte) (*Policy, error) { return parse(data, jsonFormat) }
)
