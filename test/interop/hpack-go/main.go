// Command hpack decodes HPACK header blocks with golang.org/x/net/http2/hpack, the decoder of Go's
// HTTP/2 stack and grpc-go, so test/interop/hpack-go.test.ts can compare etcd-ts's HpackDecoder with it.
//
// Each line on stdin is one connection: the dynamic table size, then the connection's header blocks in
// hex, space-separated. Each line on stdout is a JSON array with one result per block, in order:
// {"fields": [[nameHex, valueHex], ...]} or {"error": "..."}; after an error the connection's later
// blocks are not decoded (the connection would be over).
package main

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"os"
	"strconv"
	"strings"

	"golang.org/x/net/http2/hpack"
)

type result struct {
	Fields [][2]string `json:"fields,omitempty"`
	Error  string      `json:"error,omitempty"`
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 64<<20)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	enc := json.NewEncoder(out)
	for in.Scan() {
		words := strings.Fields(in.Text())
		if len(words) == 0 {
			continue
		}
		size, err := strconv.ParseUint(words[0], 10, 32)
		if err != nil {
			panic(err)
		}
		decoder := hpack.NewDecoder(uint32(size), nil)
		results := []result{}
		for _, word := range words[1:] {
			block, err := hex.DecodeString(strings.TrimPrefix(word, "="))
			if err != nil {
				panic(err)
			}
			fields, err := decoder.DecodeFull(block)
			if err != nil {
				results = append(results, result{Error: err.Error()})
				break
			}
			r := result{Fields: [][2]string{}}
			for _, f := range fields {
				r.Fields = append(r.Fields, [2]string{hex.EncodeToString([]byte(f.Name)), hex.EncodeToString([]byte(f.Value))})
			}
			results = append(results, r)
		}
		if err := enc.Encode(results); err != nil {
			panic(err)
		}
	}
	if err := in.Err(); err != nil {
		panic(err)
	}
}
