package lineage

import (
	"context"
	"errors"
	"strings"
)

// Source is where the lineage actions read lineage from: dbt manifests
// (the default) or a catalog the deployment chose (Marquez). Every source
// answers with the same Graph of Nodes, so lineage.downstream and
// lineage.upstream give the same outputs (nodes, depth, owners, exposures,
// suggested severity) whichever source a deployment uses.
type Source interface {
	// Name names the source in outputs and logs: "manifest" or "marquez".
	Name() string
	// Lookup returns the lineage graph around in.Node and the node it
	// names. Errors are Temporal application errors carrying their type
	// (UnknownNode, AccessDenied, RateLimited, …) and retryability.
	Lookup(ctx context.Context, in Input) (*Graph, *Node, error)
}

// Source kinds, the values of DATASEV_LINEAGE_SOURCE.
const (
	SourceManifest = "manifest"
	SourceMarquez  = "marquez"
	// SourceBigeye is recognised only to refuse it with the reason: see
	// the package README ("Bigeye").
	SourceBigeye = "bigeye"
)

// InvalidInputType is the error type of an input the actions refuse
// before reading anything (a negative depth, an oversized node, a missing
// manifest with the manifest source, a job id given to a catalog).
const InvalidInputType = "InvalidInput"

// MaxNodeRef bounds the length of the node input in bytes.
const MaxNodeRef = 1024

// manifestSource reads lineage from the dbt manifest each step names,
// through the worker's manifest cache and the target policy.
type manifestSource struct{ cache *Cache }

func (manifestSource) Name() string { return SourceManifest }

func (s manifestSource) Lookup(ctx context.Context, in Input) (*Graph, *Node, error) {
	if strings.TrimSpace(in.Manifest) == "" {
		return nil, nil, nonRetryable(InvalidInputType, "input manifest is required: this worker reads lineage from dbt manifests (%s unset or %q)", EnvSource, SourceManifest)
	}
	g, err := s.cache.Graph(ctx, in.Manifest)
	if err != nil {
		return nil, nil, err
	}
	n, err := g.Resolve(in.Node)
	if err != nil {
		var un *UnknownNodeError
		if errors.As(err, &un) {
			return nil, nil, nonRetryable(UnknownNodeType, "manifest %s: %v", in.Manifest, err)
		}
		return nil, nil, nonRetryable(AmbiguousNodeType, "manifest %s: %v", in.Manifest, err)
	}
	return g, n, nil
}
