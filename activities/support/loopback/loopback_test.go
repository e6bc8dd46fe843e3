package loopback_test

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/datasev/datasev/activities/support/loopback"
)

func TestListenDefaultsToLoopbackOnAFreePort(t *testing.T) {
	ln, err := loopback.Listen("")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ap, err := netip.ParseAddrPort(ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	if !ap.Addr().IsLoopback() || ap.Port() == 0 {
		t.Errorf("listening on %s, want a loopback address and a port", ap)
	}
}

func TestListenAcceptsLocalhost(t *testing.T) {
	ln, err := loopback.Listen("localhost:0")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
}

func TestListenRefusesOtherAddresses(t *testing.T) {
	for addr, want := range map[string]string{
		"0.0.0.0:0":      "not a loopback address",
		":0":             "not a loopback address",
		"10.1.2.3:9000":  "not a loopback address",
		"example.com:80": "not a loopback address",
		"127.0.0.1":      `address "127.0.0.1": `,
	} {
		ln, err := loopback.Listen(addr)
		if err == nil {
			ln.Close()
			t.Errorf("%q: listened on %s, want a refusal", addr, ln.Addr())
			continue
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %q, want it to say %q", addr, err, want)
		}
	}
}
