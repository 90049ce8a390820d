package lint

import (
	"context"

	"github.com/dfw-project/dfw/lint/facts"
	"github.com/dfw-project/dfw/parser"
)

// Input builds the input document that Check hands to every policy for
// loaded (dfwlint input prints it): the same facts, configuration and
// analyses.
func (l *Linter) Input(ctx context.Context, loaded *parser.Loaded, opts CheckOptions) (*facts.Document, error) {
	return facts.Build(ctx, loaded, facts.Options{
		Base: opts.Base, ExternalInterfaces: l.cfg.ExternalInterfaces,
		Config: l.cfg.policyConfig(), Analyzer: opts.Analyzer,
	})
}
