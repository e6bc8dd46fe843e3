package lineage_test

import (
	"bytes"
	"fmt"
	"runtime"
	"sync"
	"testing"

	"github.com/datasev/datasev/activities/actions/lineage"
	"github.com/datasev/datasev/activities/actions/lineage/manifesttest"
)

// benchNodes is the size of the benchmarks' generated project.
const benchNodes = 50_000

var (
	benchOnce     sync.Once
	benchManifest []byte
	benchGraph    *lineage.Graph
)

func benchSetup(b *testing.B) ([]byte, *lineage.Graph) {
	b.Helper()
	benchOnce.Do(func() {
		_, benchManifest = manifesttest.Large(benchNodes, 1)
		m, err := lineage.Decode(bytes.NewReader(benchManifest))
		if err != nil {
			b.Fatal(err)
		}
		benchGraph = lineage.NewGraph(m)
	})
	return benchManifest, benchGraph
}

// BenchmarkLoad decodes the 50k-node manifest and builds its graph.
func BenchmarkLoad(b *testing.B) {
	data, _ := benchSetup(b)
	// What one decoded graph keeps alive, against the file's size.
	var before, after runtime.MemStats
	runtime.GC() // twice: sync.Pools (encoding/json's buffers) survive one GC
	runtime.GC()
	runtime.ReadMemStats(&before)
	m, err := lineage.Decode(bytes.NewReader(data))
	if err != nil {
		b.Fatal(err)
	}
	kept := lineage.NewGraph(m)
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(kept)
	live := float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / (1 << 20)

	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		m, err := lineage.Decode(bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		if g := lineage.NewGraph(m); g.Len() < benchNodes/2 {
			b.Fatalf("%d nodes", g.Len())
		}
	}
	b.ReportMetric(live, "live-MB")
	b.ReportMetric(float64(len(data))/(1<<20), "file-MB")
}

// BenchmarkDownstream walks everything downstream of a source table, the
// widest question a load failure asks.
func BenchmarkDownstream(b *testing.B) {
	_, g := benchSetup(b)
	id := "source.big.src_000.table_000_00"
	if _, ok := g.Node(id); !ok {
		b.Fatalf("no %s", id)
	}
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for b.Loop() {
		n = len(g.Downstream(id, 0))
	}
	b.ReportMetric(float64(n), "nodes")
}

// BenchmarkUpstream walks everything upstream of the exposure with the
// deepest lineage, the question "what could have broken this dashboard?".
func BenchmarkUpstream(b *testing.B) {
	_, g := benchSetup(b)
	id, most := "", 0
	for i := range benchNodes / 100 {
		e := fmt.Sprintf("exposure.big.exp_%05d", i)
		if n := len(g.Upstream(e, 0)); n > most {
			id, most = e, n
		}
	}
	if id == "" {
		b.Fatal("no exposure")
	}
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for b.Loop() {
		n = len(g.Upstream(id, 0))
	}
	b.ReportMetric(float64(n), "nodes")
}
