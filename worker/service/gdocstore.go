package service

import (
	"context"
	"fmt"
	"log/slog"

	"go.temporal.io/sdk/worker"

	"github.com/datasev/datasev/activities/lifecycle/gdoc"
	"github.com/datasev/datasev/activities/lifecycle/incidentdoc"
)

// loadGDoc reads the Google Doc store's configuration (DATASEV_GDOC_*).
// Setting its folder chooses it, as DATASEV_INCIDENT_DOC_REPO chooses
// GitHub issues; both at once is an error.
func loadGDoc(getenv func(string) string, cfg Config) (gdoc.Config, error) {
	g, err := gdoc.ConfigFromEnv(getenv)
	if err != nil {
		return gdoc.Config{}, fmt.Errorf("google doc store: %w", err)
	}
	if g.Configured() && cfg.IncidentDoc.Repo != "" {
		return gdoc.Config{}, fmt.Errorf("%s and %s both choose where incident documents are kept: set one", gdoc.EnvFolder, incidentdoc.EnvRepo)
	}
	return g, nil
}

// registerGoogleDoc registers the incident document activity as the
// Google Doc store when it is configured, and reports whether it did.
// Credentials that cannot be loaded leave the documents to the other
// stores (Markdown files), said in the log.
func registerGoogleDoc(w worker.Worker, cfg Config, logger *slog.Logger) bool {
	if !cfg.GDoc.Configured() {
		return false
	}
	st, err := gdoc.New(context.Background(), cfg.GDoc, cfg.Roster, logger, gdoc.Options{})
	if err != nil {
		logger.Error("incident documents fall back to Markdown files: the Google Doc store cannot start", slog.Any("error", err))
		return false
	}
	logger.Info("incident documents are Google Docs", "folder", cfg.GDoc.FolderID, "template", cfg.GDoc.TemplateID)
	gdoc.Register(w, st)
	return true
}
