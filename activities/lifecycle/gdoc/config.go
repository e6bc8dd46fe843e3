package gdoc

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"regexp"
	"strings"
)

// Environment variables read by ConfigFromEnv (the configuration file's
// gdoc section: folder_id, template_id, credentials_file, api_url).
const (
	// EnvFolder is the Drive folder (a folder of a shared drive: a
	// service account has no storage of its own) the incident documents
	// are created in. Setting it chooses the Google Doc store, as
	// DATASEV_INCIDENT_DOC_REPO chooses GitHub issues.
	EnvFolder = "DATASEV_GDOC_FOLDER_ID"
	// EnvTemplate is the Google Doc each incident document is copied
	// from. Required with EnvFolder.
	EnvTemplate = "DATASEV_GDOC_TEMPLATE_ID"
	// EnvCredentialsFile is a service account key file (JSON). Unset: the
	// Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS,
	// the gcloud user's, or the metadata server's service account).
	EnvCredentialsFile = "DATASEV_GDOC_CREDENTIALS_FILE"
	// EnvAPIURL overrides the Docs and Drive endpoints (one base URL:
	// Docs at <url>v1/..., Drive at <url>drive/v3/...), for a stand-in;
	// https, or http to a loopback address only.
	EnvAPIURL = "DATASEV_GDOC_API_URL"
)

// Config says where and how the incident documents are kept as Google
// Docs.
type Config struct {
	// FolderID is the Drive folder of the documents; empty: the store is
	// off.
	FolderID string
	// TemplateID is the Google Doc copied for each incident.
	TemplateID string
	// CredentialsFile is the service account key file; empty for the
	// Application Default Credentials.
	CredentialsFile string
	// APIURL is the endpoint override, ending in "/"; empty for Google's.
	APIURL string
}

// Configured reports whether the Google Doc store is chosen.
func (c Config) Configured() bool { return c.FolderID != "" }

// driveID is the shape of a Drive file or folder ID.
var driveID = regexp.MustCompile(`^[A-Za-z0-9_-]{1,200}$`)

// ConfigFromEnv reads EnvFolder, EnvTemplate, EnvCredentialsFile and
// EnvAPIURL. All unset is the zero Config (store off). A folder without a
// template, a template or credentials without a folder, an ID that is not
// a Drive ID, an unreadable credentials file or an API URL that is not
// https (or http to loopback) are errors naming the variable.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	c := Config{
		FolderID:        strings.TrimSpace(getenv(EnvFolder)),
		TemplateID:      strings.TrimSpace(getenv(EnvTemplate)),
		CredentialsFile: strings.TrimSpace(getenv(EnvCredentialsFile)),
		APIURL:          strings.TrimSpace(getenv(EnvAPIURL)),
	}
	if c.FolderID == "" {
		for _, v := range []struct{ name, val string }{{EnvTemplate, c.TemplateID}, {EnvCredentialsFile, c.CredentialsFile}, {EnvAPIURL, c.APIURL}} {
			if v.val != "" {
				return Config{}, fmt.Errorf("%s is set but %s is not: set the Drive folder the incident documents go to (or unset %s)", v.name, EnvFolder, v.name)
			}
		}
		return Config{}, nil
	}
	if !driveID.MatchString(c.FolderID) {
		return Config{}, fmt.Errorf("%s=%q: want a Drive folder ID (letters, digits, - and _), as in the folder's URL .../folders/<id>", EnvFolder, c.FolderID)
	}
	if c.TemplateID == "" {
		return Config{}, fmt.Errorf("%s is set but %s is not: name the Google Doc each incident document is copied from", EnvFolder, EnvTemplate)
	}
	if !driveID.MatchString(c.TemplateID) {
		return Config{}, fmt.Errorf("%s=%q: want a Google Doc ID (letters, digits, - and _), as in the document's URL .../document/d/<id>/edit", EnvTemplate, c.TemplateID)
	}
	if c.CredentialsFile != "" {
		fi, err := os.Stat(c.CredentialsFile)
		if err != nil {
			return Config{}, fmt.Errorf("%s=%s: %w", EnvCredentialsFile, c.CredentialsFile, err)
		}
		if fi.IsDir() {
			return Config{}, fmt.Errorf("%s=%s: a directory, want a service account key file (JSON)", EnvCredentialsFile, c.CredentialsFile)
		}
	}
	if c.APIURL != "" {
		u, err := url.Parse(c.APIURL)
		if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
			return Config{}, fmt.Errorf("%s=%q: want an http(s) URL such as http://127.0.0.1:8089/", EnvAPIURL, c.APIURL)
		}
		if u.Scheme == "http" && !loopback(u.Hostname()) {
			return Config{}, fmt.Errorf("%s=%q: plain http is taken for a loopback address only (a stand-in); the access token would travel in clear", EnvAPIURL, c.APIURL)
		}
		if !strings.HasSuffix(c.APIURL, "/") {
			c.APIURL += "/"
		}
	}
	return c, nil
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
