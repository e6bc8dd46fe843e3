// Package s3act holds the S3 runbook actions: s3.latest_partition finds the
// newest time partition under a prefix and judges its freshness,
// s3.inspect_prefix counts and sizes the objects under a prefix against a
// previous one, s3.object_head reads one object's metadata.
//
// Each action is a spec (LatestPartitionSpec, InspectPrefixSpec,
// ObjectHeadSpec), an input struct and a method of Actions with the
// signature actions.Typed takes. The actions package registers them; this
// package does not import it. The client is aws-sdk-go-v2's S3 client, built
// once by the worker with NewClient from a Config (ConfigFromEnv): the
// region and credentials come from the SDK's default chain, never from
// runbook inputs; a custom endpoint and path-style addressing serve MinIO
// and other S3-compatible stores.
//
// Errors are typed: a missing bucket, refused access, refused credentials,
// a wrong region and other client errors are non-retryable application
// errors that name the bucket and key; throttling (SlowDown), 5xx and
// network errors are returned as they are, so Temporal retries them (after
// the SDK's own few quick retries).
package s3act

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"go.temporal.io/sdk/temporal"

	"github.com/datasev/datasev/activities/support/target"
)

// Environment variables read by ConfigFromEnv. Credentials are not among
// them: the SDK's default chain finds those (AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY, AWS_PROFILE and the shared files, web identity,
// ECS and EC2 instance roles).
const (
	// EnvEndpoint is a custom endpoint URL for S3-compatible stores
	// (MinIO, Ceph, …), e.g. http://127.0.0.1:9000. Unset for AWS.
	EnvEndpoint = "DATASEV_S3_ENDPOINT"
	// EnvRegion is the region; unset means the SDK's chain (AWS_REGION,
	// the profile), then DefaultRegion.
	EnvRegion = "DATASEV_S3_REGION"
	// EnvPathStyle is true for path-style addressing
	// (endpoint/bucket/key). It defaults to true when EnvEndpoint is set.
	EnvPathStyle = "DATASEV_S3_PATH_STYLE"
	// EnvProfile is a shared-config profile to use instead of AWS_PROFILE.
	EnvProfile = "DATASEV_S3_PROFILE"
	// EnvMaxAttempts bounds the SDK's own attempts per request (default
	// 3); Temporal retries the activity beyond that.
	EnvMaxAttempts = "DATASEV_S3_MAX_ATTEMPTS"
)

// DefaultRegion is the region used when neither the configuration nor the
// SDK's chain names one.
const DefaultRegion = "us-east-1"

// Config is how the worker reaches S3.
type Config struct {
	// Region is the AWS region; "" for the SDK's chain, then DefaultRegion.
	Region string
	// Endpoint is a custom endpoint URL; "" for AWS.
	Endpoint string
	// UsePathStyle addresses buckets as endpoint/bucket rather than
	// bucket.endpoint.
	UsePathStyle bool
	// Profile is a shared-config profile; "" for the default chain's.
	Profile string
	// MaxAttempts bounds the SDK's attempts per request; 0 for its
	// default.
	MaxAttempts int
}

// ConfigFromEnv reads the DATASEV_S3_* variables through getenv.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	cfg := Config{
		Region:   strings.TrimSpace(getenv(EnvRegion)),
		Endpoint: strings.TrimSpace(getenv(EnvEndpoint)),
		Profile:  strings.TrimSpace(getenv(EnvProfile)),
	}
	if cfg.Endpoint != "" {
		u, err := url.Parse(cfg.Endpoint)
		switch {
		case err != nil:
			return Config{}, fmt.Errorf("%s=%q: %v", EnvEndpoint, cfg.Endpoint, err)
		case u.Scheme != "http" && u.Scheme != "https":
			return Config{}, fmt.Errorf("%s=%q: want an http or https URL", EnvEndpoint, cfg.Endpoint)
		case u.Host == "":
			return Config{}, fmt.Errorf("%s=%q: no host", EnvEndpoint, cfg.Endpoint)
		case u.User != nil:
			return Config{}, fmt.Errorf("%s: no credentials in the URL; the SDK's default chain provides them", EnvEndpoint)
		}
		cfg.UsePathStyle = true
	}
	if v := strings.TrimSpace(getenv(EnvPathStyle)); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return Config{}, fmt.Errorf("%s=%q: want true or false", EnvPathStyle, v)
		}
		cfg.UsePathStyle = b
	}
	if v := strings.TrimSpace(getenv(EnvMaxAttempts)); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 20 {
			return Config{}, fmt.Errorf("%s=%q: want a whole number from 1 to 20", EnvMaxAttempts, v)
		}
		cfg.MaxAttempts = n
	}
	return cfg, nil
}

// NewClient builds the S3 client with config.LoadDefaultConfig: the
// default credential chain, cfg's region (or the chain's, or
// DefaultRegion), endpoint and addressing. It reads the shared config files
// but contacts nothing; credentials are resolved at the first request.
func NewClient(ctx context.Context, cfg Config) (*s3.Client, error) {
	opts := []func(*config.LoadOptions) error{config.WithAppID("datasev")}
	if cfg.Region != "" {
		opts = append(opts, config.WithRegion(cfg.Region))
	}
	if cfg.Profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(cfg.Profile))
	}
	if cfg.MaxAttempts > 0 {
		opts = append(opts, config.WithRetryMaxAttempts(cfg.MaxAttempts))
	}
	if cfg.Endpoint != "" {
		// S3-compatible stores do not all support the newer default
		// checksums; send and check them only where S3 requires them.
		opts = append(opts,
			config.WithRequestChecksumCalculation(aws.RequestChecksumCalculationWhenRequired),
			config.WithResponseChecksumValidation(aws.ResponseChecksumValidationWhenRequired))
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("s3 client: %w", err)
	}
	if awsCfg.Region == "" {
		awsCfg.Region = DefaultRegion
	}
	return s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
		o.UsePathStyle = cfg.UsePathStyle
	}), nil
}

// Types of the actions' non-retryable errors.
const (
	// NoSuchBucketType: the bucket does not exist.
	NoSuchBucketType = "NoSuchBucket"
	// AccessDeniedType: the worker's credentials may not do this.
	AccessDeniedType = "AccessDenied"
	// CredentialsType: S3 refused the worker's credentials.
	CredentialsType = "InvalidCredentials"
	// WrongRegionType: the bucket lives in another region.
	WrongRegionType = "WrongRegion"
	// ClientErrorType: another 4xx answer that a retry would not change.
	ClientErrorType = "S3ClientError"
	// BadRequestType: the inputs cannot work as written.
	BadRequestType = "BadRequest"
	// NotConfiguredType: the worker has no S3 client.
	NotConfiguredType = "NotConfigured"
)

// Actions carries out the S3 actions with one client.
type Actions struct {
	client  *s3.Client
	now     func() time.Time
	targets *target.Policy
}

// New returns the S3 actions using c. A nil c gives actions that fail,
// non-retryably, when they run (the specs are still there to validate
// runbooks against).
func New(c *s3.Client) *Actions {
	return &Actions{client: c, now: time.Now}
}

// WithClock returns a copy of a whose clock is now, for ages and
// freshness; the default is time.Now.
func (a *Actions) WithClock(now func() time.Time) *Actions {
	cp := *a
	cp.now = now
	return &cp
}

// WithTargets returns a copy of a that checks buckets against the target
// policy p (targets.s3.buckets); a nil p (no policy) lets the actions,
// which only read, reach any bucket the credentials can.
func (a *Actions) WithTargets(p *target.Policy) *Actions {
	cp := *a
	cp.targets = p
	return &cp
}

// bucket checks what every S3 action checks before it calls S3: that the
// worker has a client, then the bucket name's form, then the target policy.
func (a *Actions) bucket(action, bucket string) (string, error) {
	if err := a.ready(action); err != nil {
		return "", err
	}
	b, err := checkBucket(action, bucket)
	if err != nil {
		return "", err
	}
	if err := a.targets.Bucket(b); err != nil {
		var ae *temporal.ApplicationError
		errors.As(err, &ae)
		return "", temporal.NewNonRetryableApplicationError(action+": "+ae.Message(), ae.Type(), nil)
	}
	return b, nil
}

func (a *Actions) ready(action string) error {
	if a == nil || a.client == nil {
		return temporal.NewNonRetryableApplicationError(
			action+": the worker has no S3 client; it builds one from "+EnvEndpoint+", "+EnvRegion+
				" and the AWS default credential chain", NotConfiguredType, nil)
	}
	return nil
}

func badRequest(action, format string, args ...any) error {
	return temporal.NewNonRetryableApplicationError(action+": "+fmt.Sprintf(format, args...), BadRequestType, nil)
}

// checkBucket refuses what cannot be a bucket name, with a hint for the
// common mistake of passing a URL.
func checkBucket(action, bucket string) (string, error) {
	b := strings.TrimSpace(bucket)
	if rest, ok := strings.CutPrefix(b, "s3://"); ok {
		name, key, _ := strings.Cut(rest, "/")
		return "", badRequest(action, "bucket %q: give the bucket's name (%q) and put the key part (%q) in prefix or key", bucket, name, key)
	}
	if b == "" || strings.ContainsAny(b, "/ ") || len(b) > 255 {
		return "", badRequest(action, "bucket %q is not a bucket name", bucket)
	}
	return b, nil
}

// verdict sets out's ok, true when there are no reasons, and otherwise its
// reason, the reasons joined by "; ". It returns ok.
func verdict(out map[string]any, reasons []string) bool {
	ok := len(reasons) == 0
	out["ok"] = ok
	if !ok {
		out["reason"] = strings.Join(reasons, "; ")
	}
	return ok
}

// location names what an operation touched, as s3://bucket/key.
func location(bucket, key string) string { return "s3://" + bucket + "/" + key }

// classify turns an SDK error into the action's error: non-retryable
// application errors for answers a retry would not change, the error itself
// (retryable) for throttling, 5xx, network errors and cancellation.
func classify(action, op, bucket, key string, err error) error {
	loc := location(bucket, key)
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: %s %s: %w", action, op, loc, err)
	}
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		return fmt.Errorf("%s: %s %s: %w", action, op, loc, err)
	}
	code := apiErr.ErrorCode()
	status := 0
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	nonRetryable := func(typ, format string, args ...any) error {
		return temporal.NewNonRetryableApplicationError(action+": "+fmt.Sprintf(format, args...), typ, err)
	}
	switch code {
	case "NoSuchBucket":
		return noBucket(action, op, bucket, key, err)
	case "AccessDenied", "Forbidden", "AllAccessDisabled", "AccountProblem":
		return nonRetryable(AccessDeniedType, "access denied: %s %s (%s); the worker's credentials need %s",
			op, loc, code, permission(op, bucket, key))
	// XAdminUserNotFound is versitygw's answer (404) for an access key
	// it does not know, where AWS says InvalidAccessKeyId.
	case "InvalidAccessKeyId", "XAdminUserNotFound", "SignatureDoesNotMatch", "InvalidToken", "InvalidSecurity", "NotSignedUp":
		return nonRetryable(CredentialsType, "S3 refused the worker's credentials (%s) for %s %s; check the AWS default credential chain (environment, profile, role)",
			code, op, loc)
	case "PermanentRedirect", "AuthorizationHeaderMalformed", "MovedPermanently", "IllegalLocationConstraintException":
		return nonRetryable(WrongRegionType, "bucket %q is not in this client's region (%s); set %s to the bucket's region",
			bucket, code, EnvRegion)
	case "SlowDown", "Throttling", "ThrottlingException", "RequestThrottled", "TooManyRequests",
		"RequestTimeout", "RequestTimeTooSkewed", "ExpiredToken", "TokenRefreshRequired",
		"InternalError", "ServiceUnavailable", "OperationAborted":
		return fmt.Errorf("%s: %s %s: %w", action, op, loc, err)
	}
	if status >= 400 && status < 500 && status != 408 && status != 429 {
		return nonRetryable(ClientErrorType, "%s %s: %s: %s", op, loc, code, apiErr.ErrorMessage())
	}
	return fmt.Errorf("%s: %s %s: %w", action, op, loc, err)
}

// noBucket is the error for a bucket that does not exist.
func noBucket(action, op, bucket, key string, cause error) error {
	return temporal.NewNonRetryableApplicationError(
		fmt.Sprintf("%s: bucket %q does not exist (%s %s)", action, bucket, op, location(bucket, key)),
		NoSuchBucketType, cause)
}

// permission names the IAM permission an operation needs, for the
// AccessDenied message.
func permission(op, bucket, key string) string {
	switch op {
	case opList, opHeadBucket:
		return "s3:ListBucket on arn:aws:s3:::" + bucket
	default:
		return "s3:GetObject on arn:aws:s3:::" + bucket + "/" + key +
			" (and s3:ListBucket on arn:aws:s3:::" + bucket + ", without which S3 answers 403 for a missing key)"
	}
}

// Operation names, as errors and permissions name them.
const (
	opList       = "ListObjectsV2"
	opHeadObject = "HeadObject"
	opHeadBucket = "HeadBucket"
)

// apiCode is an SDK error's S3 error code, "" when it has none.
func apiCode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}
