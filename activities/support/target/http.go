package target

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"

	"go.temporal.io/sdk/temporal"
)

// metadataHosts are cloud metadata services' names: refused by name, with
// any policy or none, before anything is resolved. (Their addresses are
// refused at dial time too.)
var metadataHosts = map[string]bool{
	"metadata.google.internal":   true,
	"metadata.goog":              true,
	"instance-data.ec2.internal": true,
	"metadata.azure.internal":    true,
}

// metadataAddrs are cloud metadata addresses outside the link-local
// ranges: AWS's IPv6 IMDS, Alibaba's, Azure's wire server, and Oracle's
// and the others' shared 169.254.169.254 (link-local, listed for the
// reason it gives).
var metadataAddrs = map[netip.Addr]string{
	netip.MustParseAddr("fd00:ec2::254"):   "AWS metadata (IPv6)",
	netip.MustParseAddr("100.100.100.200"): "Alibaba Cloud metadata",
	netip.MustParseAddr("168.63.129.16"):   "Azure wire server",
	netip.MustParseAddr("169.254.169.254"): "cloud metadata",
	netip.MustParseAddr("169.254.170.2"):   "ECS task metadata",
}

var (
	thisNetwork = netip.MustParsePrefix("0.0.0.0/8")
	nat64       = netip.MustParsePrefix("64:ff9b::/96")
)

// Blocked returns why core.http refuses an address by default ("" when it
// does not): loopback, link-local, unspecified, "this network" and cloud
// metadata addresses, also when mapped into IPv6 or NAT64.
func Blocked(a netip.Addr) string {
	a = a.Unmap()
	if a.Is6() && nat64.Contains(a) {
		b := a.As16()
		a = netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
	}
	if why, ok := metadataAddrs[a]; ok {
		return why
	}
	switch {
	case a.IsLoopback():
		return "loopback"
	case a.IsLinkLocalUnicast(), a.IsLinkLocalMulticast(), a.IsInterfaceLocalMulticast():
		return "link-local"
	case a.IsUnspecified(), a.Is4() && thisNetwork.Contains(a):
		return "unspecified"
	}
	return ""
}

// AddressError is core.http's refusal of an address at dial time.
type AddressError struct {
	Addr netip.AddrPort
	Why  string
}

func (e *AddressError) Error() string {
	return fmt.Sprintf("target policy: address %s is %s; core.http refuses it unless %s names it", e.Addr, e.Why, KeyHTTPAllowAddresses)
}

// allowed reports whether targets.http.allow_addresses lets ap through.
func (p *Policy) allowed(ap netip.AddrPort) bool {
	if p == nil {
		return false
	}
	a := ap.Addr().Unmap()
	for _, r := range p.allow {
		if r.prefix.Contains(a) && (r.port == 0 || r.port == ap.Port()) {
			return true
		}
	}
	return false
}

// CheckAddr returns an *AddressError when the policy (or its absence)
// refuses a connection to ap.
func (p *Policy) CheckAddr(ap netip.AddrPort) error {
	if why := Blocked(ap.Addr()); why != "" && !p.allowed(ap) {
		return &AddressError{Addr: netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), Why: why}
	}
	return nil
}

// Control is a net.Dialer Control function: it runs after the name is
// resolved and before the connection is made, and refuses the addresses
// CheckAddr refuses. Use it for every connection core.http makes.
func (p *Policy) Control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("target policy: cannot check address %q: %w", address, err)
	}
	return p.CheckAddr(ap)
}

// Dialer returns d (or a zero net.Dialer) with Control set to p.Control.
func (p *Policy) Dialer(d *net.Dialer) *net.Dialer {
	var cp net.Dialer
	if d != nil {
		cp = *d
	}
	cp.Control = p.Control
	cp.ControlContext = nil
	return &cp
}

// IsAddressError reports whether err carries an *AddressError.
func IsAddressError(err error) (*AddressError, bool) {
	var ae *AddressError
	ok := errors.As(err, &ae)
	return ae, ok
}

// URL checks a core.http URL. With any policy or none it refuses cloud
// metadata host names and literal addresses that Blocked refuses (unless
// allowed). With a policy the URL's host must be in targets.http.hosts
// (host, host:port, or *.domain), or the URL must start with one of
// targets.http.url_prefixes, and its path may not hold . or .. segments.
func (p *Policy) URL(u *url.URL) error {
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	if metadataHosts[host] {
		return temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("target policy: host %q is a cloud metadata service, which core.http never requests", host), RefusedType, nil)
	}
	if a, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		if err := p.CheckAddr(netip.AddrPortFrom(a, port(u))); err != nil {
			return temporal.NewNonRetryableApplicationError(err.Error(), RefusedType, nil)
		}
	}
	if p == nil {
		return nil
	}
	if hasDotSegment(u.Path) || strings.Contains(u.Path, `\`) {
		return temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("target policy: url %s has . or .. segments; write the path as the server will see it", u.Redacted()), RefusedType, nil)
	}
	hp := net.JoinHostPort(host, fmt.Sprint(port(u)))
	for _, h := range p.lists[KeyHTTPHosts] {
		switch {
		case h == "*", h == host, h == hp,
			strings.HasPrefix(h, "*.") && strings.HasSuffix(host, h[1:]):
			return nil
		}
	}
	s := normURL(u)
	for _, pre := range p.lists[KeyHTTPURLPrefixes] {
		if strings.HasPrefix(s, pre) && (len(s) == len(pre) || strings.HasSuffix(pre, "/") || strings.ContainsRune("/?", rune(s[len(pre)]))) {
			return nil
		}
	}
	what := fmt.Sprintf("url %s", u.Redacted())
	if len(p.lists[KeyHTTPHosts])+len(p.lists[KeyHTTPURLPrefixes]) == 0 {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf(
			"target policy: %s is not in %s or %s, which are empty (set them in the config file, or %s)",
			what, KeyHTTPHosts, KeyHTTPURLPrefixes, Env(KeyHTTPHosts)), RefusedType, nil)
	}
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf(
		"target policy: %s: host %q is not in %s and the url is not under %s", what, u.Host, KeyHTTPHosts, KeyHTTPURLPrefixes),
		RefusedType, nil)
}

// port is u's port, or its scheme's default.
func port(u *url.URL) uint16 {
	if p := u.Port(); p != "" {
		var n uint16
		fmt.Sscan(p, &n)
		return n
	}
	if u.Scheme == "https" {
		return 443
	}
	return 80
}

// normURL is scheme://host[:port]/path?query with the scheme and host in
// lower case and the scheme's default port dropped.
func normURL(u *url.URL) string {
	host := strings.ToLower(u.Host)
	if (u.Scheme == "https" && strings.HasSuffix(host, ":443")) || (u.Scheme == "http" && strings.HasSuffix(host, ":80")) {
		host = host[:strings.LastIndexByte(host, ':')]
	}
	s := strings.ToLower(u.Scheme) + "://" + host + u.EscapedPath()
	if u.RawQuery != "" {
		s += "?" + u.RawQuery
	}
	return s
}

func parseURL(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil {
		return "", err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.Fragment != "" {
		return "", errors.New("want http(s)://host/path/ without credentials")
	}
	if hasDotSegment(u.Path) {
		return "", errors.New("the path may not contain . or .. segments")
	}
	if u.Path == "" {
		u.Path = "/"
	}
	return normURL(u), nil
}
