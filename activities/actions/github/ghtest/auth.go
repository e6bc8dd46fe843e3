package ghtest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// accessToken serves POST /app/installations/{id}/access_tokens: the
// Authorization header must carry an RS256 JWT signed with AppPrivateKey,
// iss = AppID, iat not in the future (60s skew) and exp after now, at most
// ten minutes after iat.
func (s *Server) accessToken(c *call, id string) {
	h := c.r.Header.Get("Authorization")
	jwt, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		writeJSON(c.w, http.StatusUnauthorized, apiError{Message: "A JSON web token could not be decoded", DocumentationURL: DocsURL, Status: "401"})
		return
	}
	if msg := s.checkJWT(jwt); msg != "" {
		writeJSON(c.w, http.StatusUnauthorized, apiError{Message: msg, DocumentationURL: DocsURL, Status: "401"})
		return
	}
	if id != strconv.FormatInt(s.InstallationID, 10) {
		notFound(c.w)
		return
	}
	raw := make([]byte, 18)
	_, _ = rand.Read(raw)
	tok := "ghs_" + hex.EncodeToString(raw)
	exp := s.now().Add(time.Hour).UTC()
	s.instTokens[tok] = exp
	writeJSON(c.w, http.StatusCreated, map[string]any{
		"token":                tok,
		"expires_at":           exp.Format(time.RFC3339),
		"permissions":          map[string]string{"contents": "write", "pull_requests": "write", "issues": "write"},
		"repository_selection": "all",
	})
}

// checkJWT returns why a JWT is refused, "" when it is good.
func (s *Server) checkJWT(tok string) string {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return "A JSON web token could not be decoded"
	}
	var hdr struct {
		Alg string `json:"alg"`
	}
	var claims struct {
		Iss any   `json:"iss"`
		Iat int64 `json:"iat"`
		Exp int64 `json:"exp"`
	}
	hb, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	cb, err2 := base64.RawURLEncoding.DecodeString(parts[1])
	sig, err3 := base64.RawURLEncoding.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil || json.Unmarshal(hb, &hdr) != nil || json.Unmarshal(cb, &claims) != nil {
		return "A JSON web token could not be decoded"
	}
	if hdr.Alg != "RS256" || s.AppPrivateKey == nil {
		return "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires"
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if rsa.VerifyPKCS1v15(&s.AppPrivateKey.PublicKey, crypto.SHA256, sum[:], sig) != nil {
		return "A JSON web token could not be decoded"
	}
	var iss string
	switch v := claims.Iss.(type) {
	case string:
		iss = v
	case float64:
		iss = strconv.FormatInt(int64(v), 10)
	}
	if iss != strconv.FormatInt(s.AppID, 10) {
		return "Integration not found"
	}
	now := s.now().Unix()
	switch {
	case claims.Exp <= now:
		return "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires"
	case claims.Iat > now+60:
		return "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued"
	case claims.Exp-claims.Iat > 600:
		return "'Expiration time' claim ('exp') is too far in the future"
	}
	return ""
}
