// Outbound URLs: what dsard may POST to (status callbacks, alert webhooks),
// checked in one place so a caller cannot aim them inside the network.
//
// OutboundPolicy::Check parses a URL with libcurl's URL API (never by hand)
// and refuses, naming why: more than 2048 characters; control characters,
// spaces, backslashes or non-ASCII (international names go in their xn--
// form); a scheme other than http and https; user information
// (user:password@); an IPv6 zone; a host not written plainly (percent
// escapes, an IPv4 address in decimal, octal or hex forms such as
// 2130706433 or 0x7f.1, an IPv6 address that embeds an IPv4 one); the name
// "localhost"; plain http to anything but a loopback IP literal (127.0.0.1,
// [::1]); an IP literal whose address is refused (below).
//
// OutboundPolicy::Pin resolves the host once (an IP literal is its own
// address) and checks every address it resolves to; the caller connects to
// the one returned (CURLOPT_RESOLVE), so the address checked is the address
// connected to (no DNS rebinding between check and connect).
//
// Refused addresses, unless a configured CIDR range holds them: unspecified
// (0.0.0.0/8, ::), loopback (127.0.0.0/8, ::1), cloud metadata
// (169.254.169.254, fd00:ec2::254), link-local (169.254.0.0/16, fe80::/10),
// private (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, fc00::/7, fec0::/10),
// carrier-grade NAT (100.64.0.0/10), multicast (224.0.0.0/4, ff00::/8) and
// reserved (240.0.0.0/4, 192.0.0.0/24, 198.18.0.0/15, ::/96). IPv6 forms
// that embed an IPv4 address (::ffff:a.b.c.d, 64:ff9b::/96, 2002::/16) are
// judged by that IPv4 address.
//
// Thread-safety: OutboundPolicy is immutable after Create; Resolver
// implementations must be thread-safe.
#ifndef DSAR_LIB_DELIVERY_OUTBOUND_URL_H_
#define DSAR_LIB_DELIVERY_OUTBOUND_URL_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace dsar::delivery {

// An IPv4 or IPv6 address.
class IpAddress {
 public:
  // Strict: dotted decimal a.b.c.d or an IPv6 text form (inet_pton).
  static std::optional<IpAddress> Parse(absl::string_view text);
  static IpAddress V4(const std::array<uint8_t, 4>& bytes);
  static IpAddress V6(const std::array<uint8_t, 16>& bytes);

  bool is_v4() const { return v4_; }
  // 4 bytes for IPv4, 16 for IPv6.
  const uint8_t* bytes() const { return bytes_.data(); }
  int size() const { return v4_ ? 4 : 16; }
  // The IPv4 address an IPv6 form embeds (::ffff:0:0/96, 64:ff9b::/96,
  // 2002::/16), if any.
  std::optional<IpAddress> EmbeddedV4() const;
  // "127.0.0.1", "::1".
  std::string ToString() const;
  bool operator==(const IpAddress& o) const { return v4_ == o.v4_ && bytes_ == o.bytes_; }

 private:
  bool v4_ = true;
  std::array<uint8_t, 16> bytes_{};
};

// An address range such as "127.0.0.0/8" or "::1/128".
class Cidr {
 public:
  // INVALID_ARGUMENT for anything but "<address>/<prefix length>".
  static absl::StatusOr<Cidr> Parse(absl::string_view text);
  bool Contains(const IpAddress& address) const;

 private:
  IpAddress base_;
  int prefix_ = 0;
};

// Why an address is internal ("a loopback address", "a private address",
// ...), or empty for a public address.
std::string InternalAddressKind(const IpAddress& address);

// Looks host names up. Tests inject a fake; dsard uses SystemResolver.
class Resolver {
 public:
  virtual ~Resolver() = default;
  // The addresses of `host` (a name, never an IP literal). UNAVAILABLE when
  // it does not resolve (may be temporary).
  virtual absl::StatusOr<std::vector<IpAddress>> Resolve(const std::string& host) = 0;
};

// getaddrinfo (TCP; IPv4 and IPv6). A process-wide instance.
class SystemResolver final : public Resolver {
 public:
  static Resolver* Default();
  absl::StatusOr<std::vector<IpAddress>> Resolve(const std::string& host) override;
};

// A URL that passed OutboundPolicy::Check.
struct OutboundUrl {
  std::string url;                   // as libcurl normalised it: what is sent
  std::string scheme;                // "http" or "https"
  std::string host;                  // lower case; an IPv6 literal without brackets
  int port = 0;                      // explicit or the scheme's default
  std::optional<IpAddress> literal;  // set when the host is an IP literal
};

// Where one attempt connects: the URL and the address its host was pinned to.
struct PinnedUrl {
  OutboundUrl target;
  IpAddress address;
  // "host:port:address" for CURLOPT_RESOLVE.
  std::string ResolveEntry() const;
};

// Every rule of the header comment but the addresses' (which need a
// policy). INVALID_ARGUMENT whose message says why.
absl::StatusOr<OutboundUrl> ParseOutboundUrl(absl::string_view url);

class OutboundPolicy {
 public:
  // Refuses every internal address.
  OutboundPolicy() = default;
  // INVALID_ARGUMENT naming the first entry that is not a CIDR range.
  static absl::StatusOr<OutboundPolicy> Create(const std::vector<std::string>& allowed_cidrs);

  // Parses and checks `url` without resolving it (see the header comment).
  // INVALID_ARGUMENT whose message says why, fit for a field violation.
  absl::StatusOr<OutboundUrl> Check(absl::string_view url) const;

  // Why `address` may not be reached ("a private address (10.0.0.0/8)"), or
  // empty when it may.
  std::string AddressProblem(const IpAddress& address) const;

  // Check, then resolve the host once with `resolver` (not for IP literals)
  // and check every address. UNAVAILABLE when the name does not resolve;
  // INVALID_ARGUMENT for a URL Check refuses; PERMISSION_DENIED when the
  // host resolves to a refused address (the message names it).
  absl::StatusOr<PinnedUrl> Pin(absl::string_view url, Resolver& resolver) const;

 private:
  std::vector<Cidr> allowed_;
};

// Whether `host` (lower case, as OutboundUrl::host) matches one of
// `patterns`: an exact name or address, or "*.example.com" for any name
// below example.com. An empty list matches every host.
bool HostAllowed(const std::vector<std::string>& patterns, absl::string_view host);

// Checks a host pattern for HostAllowed: a lower-case name, an IP address or
// "*." and a name. The problem, or empty when fine.
std::string HostPatternProblem(absl::string_view pattern);

}  // namespace dsar::delivery

#endif  // DSAR_LIB_DELIVERY_OUTBOUND_URL_H_
