package service

import (
	"log/slog"
	"net/http"

	"github.com/datasev/datasev/activities/actions/dbtcloud"
)

// dbtCloudClient builds the dbtcloud.* actions' client from cfg; nil (the
// actions then fail, non-retryably, saying so) when dbt Cloud is not
// configured or the client cannot be built.
func dbtCloudClient(cfg dbtcloud.Config, logger *slog.Logger) *dbtcloud.Client {
	if !cfg.Configured() {
		return nil
	}
	c, err := dbtcloud.NewClient(cfg, &http.Client{Timeout: ActionHTTPTimeout})
	if err != nil {
		logger.Error("no dbt Cloud client: the dbtcloud.* actions will fail until it is configured", slog.Any("error", err))
		return nil
	}
	logger.Info("dbt Cloud configured", slog.String("dbtcloud", cfg.String()))
	return c
}
