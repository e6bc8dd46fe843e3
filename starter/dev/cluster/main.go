// Command cluster runs one or more services of a real Temporal server on
// PostgreSQL, configured the way the temporalio/server image configures
// itself: from environment variables (DB, POSTGRES_SEEDS, DB_PORT,
// POSTGRES_USER, POSTGRES_PWD, NUM_HISTORY_SHARDS, BIND_ON_IP, the
// *_GRPC_PORT variables, …) rendered through the server's own embedded
// configuration template. It is a development and test tool: the production
// topology harness (starter/dev/prodstack) builds it and starts frontend,
// history, matching and the internal worker as separate processes, and the
// same binary runs the server's SQL schema tool, so the schema is installed
// by the same commands docker-compose.yml runs.
//
// It is its own Go module because the server pins OpenTelemetry versions
// that datasev's own module cannot share; it talks to datasev only over gRPC.
//
//	cluster start --service frontend [--service history …]
//	cluster sql-tool --plugin postgres12 --ep 127.0.0.1 -p 5432 -u temporal --db temporal create
//	cluster version
//
// Membership is static (temporal.WithStaticHosts) rather than ringpop: every
// service's address comes from the same configuration, so a process killed
// with SIGKILL and started again is reachable at once instead of after the
// gossip protocol's suspicion timeout.
package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	_ "time/tzdata" // the image carries tzdata; so does this binary

	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/headers"
	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/log/tag"
	"go.temporal.io/server/common/membership/static"
	_ "go.temporal.io/server/common/persistence/sql/sqlplugin/postgresql" // the postgres12 plugins
	"go.temporal.io/server/common/primitives"
	"go.temporal.io/server/temporal"
	sqltool "go.temporal.io/server/tools/sql"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "cluster:", err)
		os.Exit(1)
	}
}

const usage = `usage:
  cluster start [--service NAME]...   run services (frontend, history, matching, worker; default all)
  cluster sql-tool ARGS...            the server's temporal-sql-tool (create, setup-schema, update-schema)
  cluster version                     print the Temporal server version`

func run(args []string) error {
	if len(args) == 0 {
		return errors.New(usage)
	}
	switch args[0] {
	case "start":
		services, err := parseServices(args[1:])
		if err != nil {
			return err
		}
		return start(services)
	case "sql-tool":
		return sqltool.RunTool(append([]string{"temporal-sql-tool"}, args[1:]...))
	case "version":
		fmt.Println(headers.ServerVersion)
		return nil
	default:
		return fmt.Errorf("unknown command %q\n%s", args[0], usage)
	}
}

// parseServices reads --service NAME (repeatable, or comma-separated).
func parseServices(args []string) ([]string, error) {
	var services []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		var v string
		switch {
		case a == "--service" || a == "-service":
			if i+1 >= len(args) {
				return nil, fmt.Errorf("%s needs a value", a)
			}
			i++
			v = args[i]
		case strings.HasPrefix(a, "--service="):
			v = strings.TrimPrefix(a, "--service=")
		default:
			return nil, fmt.Errorf("start: unknown argument %q\n%s", a, usage)
		}
		for _, s := range strings.Split(v, ",") {
			s = strings.TrimSpace(s)
			if !slices.Contains(temporal.DefaultServices, s) {
				return nil, fmt.Errorf("start: unknown service %q (one of %s)", s, strings.Join(temporal.DefaultServices, ", "))
			}
			services = append(services, s)
		}
	}
	if len(services) == 0 {
		services = slices.Clone(temporal.DefaultServices)
	}
	return services, nil
}

// start runs the services until SIGINT or SIGTERM.
func start(services []string) error {
	cfg, err := config.Load(config.WithEmbedded())
	if err != nil {
		return fmt.Errorf("load configuration from the environment: %w", err)
	}
	logger := log.NewZapLogger(log.BuildZapLogger(cfg.Log))
	logger.Info("datasev test cluster starting", tag.NewStringsTag("services", services),
		tag.NewStringTag("server-version", headers.ServerVersion))
	hosts, err := staticHosts(cfg, services)
	if err != nil {
		return err
	}
	s, err := temporal.NewServer(
		temporal.ForServices(services),
		temporal.WithConfig(cfg),
		temporal.WithLogger(logger),
		temporal.WithStaticHosts(hosts),
		temporal.InterruptOn(temporal.InterruptCh()),
	)
	if err != nil {
		return fmt.Errorf("create server: %w", err)
	}
	if err := s.Start(); err != nil {
		return fmt.Errorf("run server: %w", err)
	}
	return nil
}

// staticHosts names every service's gRPC address from the configuration,
// marking the services this process runs as its own.
func staticHosts(cfg *config.Config, running []string) (map[primitives.ServiceName]static.Hosts, error) {
	hosts := make(map[primitives.ServiceName]static.Hosts)
	for _, name := range temporal.DefaultServices {
		svc, ok := cfg.Services[name]
		if !ok {
			return nil, fmt.Errorf("configuration has no %q service", name)
		}
		ip := svc.RPC.BindOnIP
		if b := cfg.Global.Membership.BroadcastAddress; b != "" {
			ip = b
		}
		addr := net.JoinHostPort(ip, strconv.Itoa(svc.RPC.GRPCPort))
		h := static.Hosts{All: []string{addr}}
		if slices.Contains(running, name) {
			h.Self = addr
		}
		hosts[primitives.ServiceName(name)] = h
	}
	return hosts, nil
}
