// Package bankpb holds the generated code of the examples' banking gRPC API
// (bank.proto). Regenerate it with protoc, protoc-gen-go and
// protoc-gen-go-grpc on PATH:
//
//	go generate ./examples/internal/bankpb
package bankpb

//go:generate protoc --go_out=. --go_opt=paths=source_relative --go-grpc_out=. --go-grpc_opt=paths=source_relative bank.proto
