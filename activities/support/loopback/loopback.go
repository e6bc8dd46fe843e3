// Package loopback opens the listeners of datasev's protocol stand-ins
// (s3test, sftest, slacktest): on a loopback address only, so that a
// stand-in started by a test or the dev stack is never reachable from
// another machine.
package loopback

import (
	"fmt"
	"net"
)

// DefaultAddr is what Listen listens on when given no address: 127.0.0.1
// on a free port.
const DefaultAddr = "127.0.0.1:0"

// Listen listens on TCP addr, a host:port whose host is "localhost" or a
// loopback IP address; "" means DefaultAddr. Any other host is refused
// before anything listens.
func Listen(addr string) (net.Listener, error) {
	if addr == "" {
		addr = DefaultAddr
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("address %q is not a loopback address; the stand-in listens on loopback only", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	return ln, nil
}
