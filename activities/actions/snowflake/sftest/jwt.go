package sftest

import (
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// KeyFingerprint is a public key's fingerprint as Snowflake shows it in
// DESC USER (RSA_PUBLIC_KEY_FP) and as key-pair JWTs name it in their
// issuer: "SHA256:" and the base64 SHA-256 of the DER public key.
func KeyFingerprint(pub *rsa.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(der)
	return "SHA256:" + base64.StdEncoding.EncodeToString(sum[:]), nil
}

// checkJWT checks a key-pair login's token the way Snowflake does: an
// RS256 JWT whose subject is ACCOUNT.USER, whose issuer is
// ACCOUNT.USER.SHA256:<fingerprint>, and which has not expired. With
// Options.PublicKey the signature and fingerprint are verified too. It
// returns the claims it could read.
func (s *Server) checkJWT(token string) (map[string]any, error) {
	claims := jwt.MapClaims{}
	var parser *jwt.Parser
	var err error
	if s.opts.PublicKey != nil {
		parser = jwt.NewParser(jwt.WithValidMethods([]string{"RS256"}), jwt.WithExpirationRequired(), jwt.WithIssuedAt())
		_, err = parser.ParseWithClaims(token, claims, func(*jwt.Token) (any, error) { return s.opts.PublicKey, nil })
	} else {
		parser = jwt.NewParser()
		var tok *jwt.Token
		tok, _, err = parser.ParseUnverified(token, claims)
		if err == nil && tok.Method.Alg() != "RS256" {
			err = fmt.Errorf("signing method %s, want RS256", tok.Method.Alg())
		}
	}
	if err != nil {
		return claims, err
	}
	account := strings.ToUpper(s.opts.Account)
	if i := strings.Index(account, "."); i > 0 {
		account = account[:i]
	}
	wantSub := account + "." + strings.ToUpper(s.opts.User)
	sub, _ := claims["sub"].(string)
	iss, _ := claims["iss"].(string)
	if sub != wantSub {
		return claims, fmt.Errorf("subject %q, want %q", sub, wantSub)
	}
	fp, ok := strings.CutPrefix(iss, wantSub+".")
	if !ok || !strings.HasPrefix(fp, "SHA256:") {
		return claims, fmt.Errorf("issuer %q, want %s.SHA256:<public key fingerprint>", iss, wantSub)
	}
	exp, err := claims.GetExpirationTime()
	if err != nil || exp == nil {
		return claims, errors.New("no expiry")
	}
	if !exp.After(time.Now()) {
		return claims, errors.New("token expired")
	}
	if s.opts.PublicKey != nil {
		want, err := KeyFingerprint(s.opts.PublicKey)
		if err != nil {
			return claims, err
		}
		if fp != want {
			return claims, fmt.Errorf("fingerprint %s is not the registered key's", fp)
		}
	}
	return claims, nil
}
