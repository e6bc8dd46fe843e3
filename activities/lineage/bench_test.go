package lineage_test

import (
	"bytes"
	"sync"
	"testing"

	"github.com/datasev/datasev/activities/lineage"
	"github.com/datasev/datasev/activities/lineage/manifesttest"
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

// BenchmarkUpstream walks everything upstream of the last mart.
func BenchmarkUpstream(b *testing.B) {
	_, g := benchSetup(b)
	id := "model.big.fct_07499"
	if _, ok := g.Node(id); !ok {
		b.Fatalf("no %s", id)
	}
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for b.Loop() {
		n = len(g.Upstream(id, 0))
	}
	b.ReportMetric(float64(n), "nodes")
}

// BenchmarkGenerate3k times the fixture generator for the GitHub tests.
func BenchmarkGenerate3k(b *testing.B) {
	for b.Loop() {
		manifesttest.Large(3000, 7)
	}
}

func BenchmarkDecode3k(b *testing.B) {
	_, data := manifesttest.Large(3000, 7)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := lineage.Decode(bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}
