package sftest_test

import (
	"context"
	"database/sql"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/snowflakedb/gosnowflake"

	"github.com/datasev/datasev/activities/actions/snowflake/sftest"
)

func start(t *testing.T, opts sftest.Options) *sftest.Server {
	t.Helper()
	srv, err := sftest.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv
}

func open(t *testing.T, cfg gosnowflake.Config) *sql.DB {
	t.Helper()
	db := sql.OpenDB(gosnowflake.NewConnector(gosnowflake.SnowflakeDriver{}, cfg))
	t.Cleanup(func() { db.Close() })
	return db
}

// The real driver logs in with a password, runs a query with binds and a
// query tag, and decodes the JSON rowset by its row types.
func TestDriverRoundTrip(t *testing.T) {
	srv := start(t, sftest.Options{TimeZone: "America/New_York"})
	at := time.Date(2025, 3, 4, 5, 6, 7, 890000000, time.UTC)
	srv.OnQuery(func(q sftest.Query) sftest.Result {
		if !strings.Contains(q.SQL, "FROM T") {
			return sftest.Result{}
		}
		return sftest.Rows(
			[]sftest.Column{sftest.Text("NAME"), sftest.Fixed("N"), sftest.Number("RATIO", 10, 2), sftest.Boolean("OK"),
				sftest.TimestampLTZ("AT"), sftest.TimestampNTZ("NTZ"), sftest.TimestampTZ("TZ"), sftest.Date("D"), sftest.Real("R")},
			[]any{"a", 42, 1.5, true, at, at, at.In(time.FixedZone("x", 2*3600)), at, 0.25},
			[]any{nil, nil, nil, false, nil, nil, nil, nil, nil},
		)
	})
	cfg := srv.DriverConfig()
	cfg.Role, cfg.Warehouse, cfg.Database = "reader", "wh", "db"
	db := open(t, cfg)
	ctx := gosnowflake.WithQueryTag(context.Background(), "datasev:inc:step")
	rows, err := db.QueryContext(ctx, "SELECT * FROM T WHERE A = ? AND B = ? AND C IS ?", "x'y", 6, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var (
			name         sql.NullString
			n            sql.NullInt64
			ratio        sql.NullFloat64
			ok           bool
			ltz, ntz, tz sql.NullTime
			d            sql.NullTime
			r            sql.NullFloat64
		)
		if err := rows.Scan(&name, &n, &ratio, &ok, &ltz, &ntz, &tz, &d, &r); err != nil {
			t.Fatal(err)
		}
		if name.Valid {
			if name.String != "a" || n.Int64 != 42 || ratio.Float64 != 1.5 || !ok || r.Float64 != 0.25 {
				t.Errorf("row: %v %v %v %v %v", name, n, ratio, ok, r)
			}
			if !ltz.Time.Equal(at) || ltz.Time.Location().String() != "America/New_York" {
				t.Errorf("ltz %v", ltz.Time)
			}
			if !ntz.Time.Equal(at) || !tz.Time.Equal(at) {
				t.Errorf("ntz %v tz %v", ntz.Time, tz.Time)
			}
			if _, off := tz.Time.Zone(); off != 7200 {
				t.Errorf("tz offset %d", off)
			}
			if d.Time.Format("2006-01-02") != "2025-03-04" {
				t.Errorf("date %v", d.Time)
			}
		} else if n.Valid || ltz.Valid || ok {
			t.Errorf("nulls: %v %v %v", n, ltz, ok)
		}
		got = append(got, name.String)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("rows %v", got)
	}
	qs := srv.Queries()
	q := qs[len(qs)-1]
	if q.QueryTag != "datasev:inc:step" {
		t.Errorf("query tag %q", q.QueryTag)
	}
	if want := []any{"x'y", int64(6), nil}; !reflect.DeepEqual(q.Args(), want) {
		t.Errorf("args %#v, want %#v", q.Args(), want)
	}
	if q.Bindings[0].Type != "TEXT" || q.Bindings[1].Type != "FIXED" {
		t.Errorf("binding types %+v", q.Bindings)
	}
	if q.Session.Role != "READER" || q.Session.Warehouse != "WH" || q.Session.Database != "DB" {
		t.Errorf("session %+v", q.Session)
	}
	lg := srv.Logins()
	if len(lg) != 1 || !lg[0].OK || lg[0].User != sftest.DefaultUser || lg[0].Role != "reader" {
		t.Fatalf("logins %+v", lg)
	}
	if !reflect.DeepEqual(lg[0].Platform, []string{"disabled"}) {
		t.Errorf("platform detection ran: %v", lg[0].Platform)
	}
	for _, r := range srv.Requests() {
		if r.Path == sftest.TelemetryPath {
			t.Errorf("telemetry sent")
		}
	}
}

func TestDriverErrors(t *testing.T) {
	srv := start(t, sftest.Options{})
	srv.OnQuery(func(q sftest.Query) sftest.Result {
		return sftest.ObjectNotFound("Table", "RAW.NOPE")
	})
	db := open(t, srv.DriverConfig())
	_, err := db.QueryContext(context.Background(), "SELECT * FROM RAW.NOPE")
	var se *gosnowflake.SnowflakeError
	if !errors.As(err, &se) {
		t.Fatalf("error %T %v", err, err)
	}
	if se.Number != 2003 || se.SQLState != "42S02" || !strings.Contains(se.Message, "does not exist or not authorized") || se.QueryID == "" {
		t.Errorf("error %+v", se)
	}

	bad := srv.DriverConfig()
	bad.Password = "wrong"
	_, err = open(t, bad).QueryContext(context.Background(), "SELECT 1")
	if !errors.As(err, &se) || se.Number != 390100 {
		t.Errorf("bad password: %v", err)
	}
}

// An expired session token is renewed with the master token and the
// statement repeated; an expired master token is an error.
func TestDriverSessionRenewal(t *testing.T) {
	srv := start(t, sftest.Options{})
	db := open(t, srv.DriverConfig())
	db.SetMaxOpenConns(1)
	ctx := context.Background()
	if err := db.PingContext(ctx); err != nil {
		t.Fatal(err)
	}
	srv.ExpireSessions()
	if err := db.PingContext(ctx); err != nil {
		t.Fatalf("after expiry: %v", err)
	}
	renewals := 0
	for _, r := range srv.Requests() {
		if r.Path == sftest.TokenPath {
			renewals++
		}
	}
	if renewals != 1 || len(srv.Logins()) != 1 {
		t.Errorf("renewals %d logins %d", renewals, len(srv.Logins()))
	}
	srv.ExpireMasterTokens()
	err := db.PingContext(ctx)
	var se *gosnowflake.SnowflakeError
	if !errors.As(err, &se) || se.Number != 390114 {
		t.Errorf("master expired: %v", err)
	}
}

func TestOnlyLoopback(t *testing.T) {
	if _, err := sftest.New(sftest.Options{Addr: "0.0.0.0:0"}); err == nil {
		t.Fatal("listened on all interfaces")
	}
}

func TestArrowRefused(t *testing.T) {
	srv := start(t, sftest.Options{})
	cfg := srv.DriverConfig()
	cfg.Params = nil
	_, err := open(t, cfg).QueryContext(context.Background(), "SELECT 1")
	if err == nil || !strings.Contains(err.Error(), "GO_QUERY_RESULT_FORMAT") {
		t.Errorf("error %v", err)
	}
}

// Closing the pool logs the sessions out.
func TestDriverLogout(t *testing.T) {
	srv := start(t, sftest.Options{})
	db := sql.OpenDB(gosnowflake.NewConnector(gosnowflake.SnowflakeDriver{}, srv.DriverConfig()))
	if err := db.PingContext(context.Background()); err != nil {
		t.Fatal(err)
	}
	if srv.OpenSessions() != 1 {
		t.Fatalf("open sessions %d", srv.OpenSessions())
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if srv.OpenSessions() != 0 {
		t.Errorf("open sessions after Close: %d", srv.OpenSessions())
	}
	var logouts int
	for _, r := range srv.Requests() {
		if r.Path == sftest.SessionPath && r.Query.Get("delete") == "true" {
			logouts++
		}
	}
	if logouts != 1 {
		t.Errorf("logouts %d", logouts)
	}
}
