package sites

import (
	"fmt"
	"strings"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"
)

func TestChunks_BoundOpsAndBytesPerTransaction(t *testing.T) {
	small := func(n int) []clientv3.Op {
		var ops []clientv3.Op
		for i := range n {
			ops = append(ops, clientv3.OpPut(fmt.Sprint("k", i), "v"))
		}
		return ops
	}
	big := clientv3.OpPut("big", strings.Repeat("x", 600<<10))
	tests := []struct {
		name string
		ops  []clientv3.Op
		max  int
		want []int
	}{
		{"nothing to write: no transaction", nil, 128, nil},
		{"under the op limit: one transaction", small(5), 128, []int{5}},
		{"over the op limit: split at it", small(300), 128, []int{128, 128, 44}},
		{"over the byte budget: split before it", []clientv3.Op{big, big, big}, 128, []int{1, 1, 1}},
		{"small ops fill up to the byte budget", append([]clientv3.Op{big}, small(3)...), 128, []int{4}},
	}
	for _, tt := range tests {
		var got []int
		for c := range chunks(tt.ops, tt.max) {
			got = append(got, len(c))
		}
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("%s: chunk sizes %v, want %v", tt.name, got, tt.want)
		}
	}
}
