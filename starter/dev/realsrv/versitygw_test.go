package realsrv_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"go.temporal.io/sdk/temporal"

	s3act "github.com/datasev/datasev/activities/actions/s3"
	"github.com/datasev/datasev/runbooks"
	"github.com/datasev/datasev/starter/dev/realsrv"
)

const (
	vgAccess = "datasevroot"
	vgSecret = "datasev-root-secret-1"
)

// s3Env points the SDK's default chain at srv with the given credentials,
// the way the worker is configured (DATASEV_S3_* and AWS_* variables), with
// no shared files, profiles or instance metadata.
func s3Env(t *testing.T, srv *realsrv.S3Server, access, secret string) {
	t.Helper()
	dir := t.TempDir()
	for k, v := range map[string]string{
		s3act.EnvEndpoint: srv.URL, s3act.EnvRegion: srv.Region, s3act.EnvPathStyle: "true", s3act.EnvMaxAttempts: "1",
		"AWS_ACCESS_KEY_ID": access, "AWS_SECRET_ACCESS_KEY": secret, "AWS_SESSION_TOKEN": "",
		"AWS_EC2_METADATA_DISABLED": "true",
		"AWS_CONFIG_FILE":           filepath.Join(dir, "config"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
		"AWS_PROFILE": "", s3act.EnvProfile: "", "AWS_ENDPOINT_URL": "", "AWS_ENDPOINT_URL_S3": "",
		"AWS_ROLE_ARN": "", "AWS_WEB_IDENTITY_TOKEN_FILE": "",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI": "", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "",
	} {
		t.Setenv(k, v)
	}
}

// s3Client builds the worker's S3 client (s3act.NewClient from
// s3act.ConfigFromEnv) for srv with the given credentials.
func s3Client(t *testing.T, srv *realsrv.S3Server, access, secret string) *s3.Client {
	t.Helper()
	s3Env(t, srv, access, secret)
	cfg, err := s3act.ConfigFromEnv(os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	c, err := s3act.NewClient(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func put(t *testing.T, c *s3.Client, bucket, key string, size int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key),
		Body: strings.NewReader(strings.Repeat("x", size)), ContentLength: aws.Int64(int64(size))})
	if err != nil {
		t.Fatalf("put s3://%s/%s: %v", bucket, key, err)
	}
}

func wantOut(t *testing.T, action string, out map[string]any, key string, want any) {
	t.Helper()
	got, ok := out[key]
	if !ok {
		t.Errorf("%s: output has no %q (want %v): %v", action, key, want, out)
		return
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s: output %q = %v, want %v", action, key, got, want)
	}
}

// appErr returns err's Temporal application error, failing the test when
// it has none.
func appErr(t *testing.T, what string, err error) *temporal.ApplicationError {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: no error", what)
	}
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) {
		t.Fatalf("%s: %v (%T), want a Temporal application error", what, err, err)
	}
	return ae
}

// TestS3ActionsAgainstVersityGW runs datasev's S3 actions, with the
// worker's client (s3act.NewClient from the environment), against a real S3
// gateway (versitygw, posix backend): a bucket of hourly partitions is
// written with the SDK, and s3.latest_partition, s3.inspect_prefix and
// s3.object_head find what was written. Then a missing bucket, a wrong
// secret and an unknown access key: versitygw checks SigV4 signatures,
// which the in-process stand-in does not, and the actions must refuse each
// with a clear, non-retryable error.
func TestS3ActionsAgainstVersityGW(t *testing.T) {
	exe := ensure(t, realsrv.VersityGW)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := realsrv.StartVersityGW(ctx, exe, t.TempDir(), vgAccess, vgSecret)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()

	c := s3Client(t, srv, vgAccess, vgSecret)
	const bucket = "lake"
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("create bucket: %v\n%s", err, srv.Log())
	}
	// Three hourly partitions up to the current hour; the newest has three
	// data objects and its marker, the one before two; a stray directory
	// and an older-layout file sit beside them.
	now := time.Now().UTC()
	hour := now.Truncate(time.Hour)
	part := func(t time.Time) string { return "events/" + t.Format("dt=2006-01-02/hr=15") + "/" }
	newest, prev, oldest := part(hour), part(hour.Add(-time.Hour)), part(hour.Add(-2*time.Hour))
	put(t, c, bucket, oldest+"part-0.parquet", 100)
	put(t, c, bucket, oldest+"_SUCCESS", 0)
	put(t, c, bucket, prev+"part-0.parquet", 100)
	put(t, c, bucket, prev+"part-1.parquet", 100)
	put(t, c, bucket, prev+"_SUCCESS", 0)
	put(t, c, bucket, newest+"part-0.parquet", 120)
	put(t, c, bucket, newest+"part-1.parquet", 120)
	put(t, c, bucket, newest+"part-2.parquet", 120)
	put(t, c, bucket, newest+"_SUCCESS", 0)
	put(t, c, bucket, "events/tmp/scratch.json", 10)

	a := s3act.New(c)
	req := runbooks.ActionRequest{Incident: "inc-real", Runbook: "rb", Step: "s1"}
	cadence := runbooks.Duration(time.Hour)

	lp, err := a.LatestPartition(ctx, req, s3act.LatestPartitionInput{Bucket: bucket, Prefix: "events/", Layout: "dt=YYYY-MM-DD/hr=HH", ExpectedCadence: cadence})
	if err != nil {
		t.Fatalf("%s: %v\n%s", s3act.LatestPartitionName, err, srv.Log())
	}
	wantOut(t, s3act.LatestPartitionName, lp.Output, "found", true)
	wantOut(t, s3act.LatestPartitionName, lp.Output, "ok", true)
	wantOut(t, s3act.LatestPartitionName, lp.Output, "partition_prefix", newest)
	wantOut(t, s3act.LatestPartitionName, lp.Output, "previous_prefix", prev)
	wantOut(t, s3act.LatestPartitionName, lp.Output, "objects", 3)
	wantOut(t, s3act.LatestPartitionName, lp.Output, "bytes", 360)
	wantOut(t, s3act.LatestPartitionName, lp.Output, "marker_present", true)

	ip, err := a.InspectPrefix(ctx, req, s3act.InspectPrefixInput{Bucket: bucket, Prefix: newest, PreviousPrefix: prev, MinRatio: 1})
	if err != nil {
		t.Fatalf("%s: %v\n%s", s3act.InspectPrefixName, err, srv.Log())
	}
	wantOut(t, s3act.InspectPrefixName, ip.Output, "ok", true)
	wantOut(t, s3act.InspectPrefixName, ip.Output, "objects", 3)
	wantOut(t, s3act.InspectPrefixName, ip.Output, "bytes", 360)
	wantOut(t, s3act.InspectPrefixName, ip.Output, "other_objects", 1)
	wantOut(t, s3act.InspectPrefixName, ip.Output, "previous_objects", 2)
	wantOut(t, s3act.InspectPrefixName, ip.Output, "previous_bytes", 200)
	wantOut(t, s3act.InspectPrefixName, ip.Output, "objects_ratio", 1.5)

	oh, err := a.ObjectHead(ctx, req, s3act.ObjectHeadInput{Bucket: bucket, Key: newest + "part-1.parquet"})
	if err != nil {
		t.Fatalf("%s: %v\n%s", s3act.ObjectHeadName, err, srv.Log())
	}
	wantOut(t, s3act.ObjectHeadName, oh.Output, "exists", true)
	wantOut(t, s3act.ObjectHeadName, oh.Output, "size", 120)
	oh, err = a.ObjectHead(ctx, req, s3act.ObjectHeadInput{Bucket: bucket, Key: newest + "part-9.parquet"})
	if err != nil {
		t.Fatalf("%s of a missing key: %v", s3act.ObjectHeadName, err)
	}
	wantOut(t, s3act.ObjectHeadName, oh.Output, "exists", false)

	// A bucket that does not exist.
	_, err = a.LatestPartition(ctx, req, s3act.LatestPartitionInput{Bucket: "no-such-lake", Prefix: "events/", Layout: "dt=YYYY-MM-DD/hr=HH"})
	if ae := appErr(t, "missing bucket", err); ae.Type() != s3act.NoSuchBucketType || !ae.NonRetryable() || !strings.Contains(ae.Error(), `"no-such-lake"`) {
		t.Errorf("missing bucket: %s %v (non-retryable %v), want %s naming the bucket", ae.Type(), ae, ae.NonRetryable(), s3act.NoSuchBucketType)
	}

	// Refused credentials. A wrong secret: versitygw checks the SigV4
	// signature and answers 403 SignatureDoesNotMatch, which the actions
	// report as their non-retryable credentials error naming the bucket.
	wrong := s3act.New(s3Client(t, srv, vgAccess, vgSecret+"-wrong"))
	_, err = wrong.LatestPartition(ctx, req, s3act.LatestPartitionInput{Bucket: bucket, Prefix: "events/", Layout: "dt=YYYY-MM-DD/hr=HH"})
	ae := appErr(t, "wrong secret: "+s3act.LatestPartitionName, err)
	if ae.Type() != s3act.CredentialsType || !ae.NonRetryable() || !strings.Contains(ae.Error(), "SignatureDoesNotMatch") || !strings.Contains(ae.Error(), "s3://"+bucket+"/events/") {
		t.Errorf("wrong secret: %s: %s %v (non-retryable %v), want %s naming SignatureDoesNotMatch and s3://%s/events/",
			s3act.LatestPartitionName, ae.Type(), ae, ae.NonRetryable(), s3act.CredentialsType, bucket)
	}
	_, err = wrong.InspectPrefix(ctx, req, s3act.InspectPrefixInput{Bucket: bucket, Prefix: newest})
	if ae := appErr(t, "wrong secret: "+s3act.InspectPrefixName, err); ae.Type() != s3act.CredentialsType || !ae.NonRetryable() {
		t.Errorf("wrong secret: %s: %s %v, want %s", s3act.InspectPrefixName, ae.Type(), ae, s3act.CredentialsType)
	}
	_, err = wrong.ObjectHead(ctx, req, s3act.ObjectHeadInput{Bucket: bucket, Key: newest + "part-1.parquet"})
	if ae := appErr(t, "wrong secret: "+s3act.ObjectHeadName, err); !ae.NonRetryable() {
		t.Errorf("wrong secret: %s: %s %v, want a non-retryable error", s3act.ObjectHeadName, ae.Type(), ae)
	}

	// An unknown access key: AWS answers 403 InvalidAccessKeyId, versitygw
	// v1.8.0 404 XAdminUserNotFound; both are the credentials error, with
	// its hint, and never retried.
	unknown := s3act.New(s3Client(t, srv, "nobody", vgSecret))
	_, err = unknown.LatestPartition(ctx, req, s3act.LatestPartitionInput{Bucket: bucket, Prefix: "events/", Layout: "dt=YYYY-MM-DD/hr=HH"})
	ae = appErr(t, "unknown access key: "+s3act.LatestPartitionName, err)
	switch {
	case !ae.NonRetryable():
		t.Errorf("unknown access key: %v is retryable", ae)
	case ae.Type() == s3act.CredentialsType && (strings.Contains(ae.Error(), "InvalidAccessKeyId") || strings.Contains(ae.Error(), "XAdminUserNotFound")):
	default:
		t.Errorf("unknown access key: %s %v, want %s (InvalidAccessKeyId or XAdminUserNotFound)", ae.Type(), ae, s3act.CredentialsType)
	}
}
