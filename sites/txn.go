package sites

import (
	"iter"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// maxTxnBytes keeps one transaction well under etcd's default request
// limit (--max-request-bytes, 1.5 MiB).
const maxTxnBytes = 1 << 20

// chunks splits ops into transactions of at most maxOps operations and
// about maxTxnBytes of keys and values; one operation larger than that
// goes alone (and etcd says whether it fits).
func chunks(ops []clientv3.Op, maxOps int) iter.Seq[[]clientv3.Op] {
	return func(yield func([]clientv3.Op) bool) {
		start, size := 0, 0
		for i, op := range ops {
			n := len(op.KeyBytes()) + len(op.ValueBytes())
			if i > start && (i-start == maxOps || size+n > maxTxnBytes) {
				if !yield(ops[start:i]) {
					return
				}
				start, size = i, 0
			}
			size += n
		}
		if start < len(ops) {
			yield(ops[start:])
		}
	}
}
