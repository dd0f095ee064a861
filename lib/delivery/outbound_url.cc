#include "lib/delivery/outbound_url.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace dsar::delivery {
namespace {

constexpr size_t kMaxUrlLength = 2048;
constexpr char kAllowedField[] = "outbound.allowed_cidrs";

struct CurlUrlDeleter {
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};
using CurlUrl = std::unique_ptr<CURLU, CurlUrlDeleter>;

// One part of a parsed URL, or nullopt when it is absent.
std::optional<std::string> Part(CURLU* u, CURLUPart part, unsigned flags = 0) {
  char* text = nullptr;
  if (curl_url_get(u, part, &text, flags) != CURLUE_OK || text == nullptr) return std::nullopt;
  std::string out(text);
  curl_free(text);
  return out;
}

struct Range4 {
  uint8_t a, b, c, d;
  int prefix;
  const char* kind;
  const char* text;
};

// Checked in order: the first range holding an address names its kind.
constexpr Range4 kInternal4[] = {
    {0, 0, 0, 0, 8, "an unspecified address", "0.0.0.0/8"},
    {127, 0, 0, 0, 8, "a loopback address", "127.0.0.0/8"},
    {169, 254, 169, 254, 32, "a cloud metadata address", "169.254.169.254"},
    {169, 254, 0, 0, 16, "a link-local address", "169.254.0.0/16"},
    {10, 0, 0, 0, 8, "a private address", "10.0.0.0/8"},
    {172, 16, 0, 0, 12, "a private address", "172.16.0.0/12"},
    {192, 168, 0, 0, 16, "a private address", "192.168.0.0/16"},
    {100, 64, 0, 0, 10, "a carrier-grade NAT address", "100.64.0.0/10"},
    {224, 0, 0, 0, 4, "a multicast address", "224.0.0.0/4"},
    {240, 0, 0, 0, 4, "a reserved address", "240.0.0.0/4"},
    {192, 0, 0, 0, 24, "a reserved address", "192.0.0.0/24"},
    {198, 18, 0, 0, 15, "a reserved address", "198.18.0.0/15"},
};

bool PrefixMatches(const uint8_t* a, const uint8_t* b, int prefix) {
  const int whole = prefix / 8;
  if (std::memcmp(a, b, whole) != 0) return false;
  const int rest = prefix % 8;
  if (rest == 0) return true;
  const uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (a[whole] & mask) == (b[whole] & mask);
}

bool IsLoopbackLiteral(const IpAddress& a) {
  if (a.is_v4()) return a.bytes()[0] == 127;
  return *IpAddress::Parse("::1") == a;
}

// The last dot-separated label of a host name looks numeric (digits, or
// "0x" and hex digits): such a name is an IPv4 address in disguise.
bool LastLabelLooksNumeric(absl::string_view host) {
  absl::string_view label = host.substr(host.rfind('.') + 1);
  if (label.empty()) return false;
  if (absl::StartsWith(label, "0x")) return true;
  return std::all_of(label.begin(), label.end(), [](char c) { return absl::ascii_isdigit(c); });
}

bool IsHostNameChar(char c) { return absl::ascii_isalnum(c) || c == '-' || c == '.' || c == '_'; }

absl::Status Refused(absl::string_view why) { return absl::InvalidArgumentError(why); }

}  // namespace

std::optional<IpAddress> IpAddress::Parse(absl::string_view text) {
  const std::string s(text);
  std::array<uint8_t, 4> v4;
  if (inet_pton(AF_INET, s.c_str(), v4.data()) == 1) return V4(v4);
  std::array<uint8_t, 16> v6;
  if (inet_pton(AF_INET6, s.c_str(), v6.data()) == 1) return V6(v6);
  return std::nullopt;
}

IpAddress IpAddress::V4(const std::array<uint8_t, 4>& bytes) {
  IpAddress a;
  a.v4_ = true;
  std::copy(bytes.begin(), bytes.end(), a.bytes_.begin());
  return a;
}

IpAddress IpAddress::V6(const std::array<uint8_t, 16>& bytes) {
  IpAddress a;
  a.v4_ = false;
  a.bytes_ = bytes;
  return a;
}

std::optional<IpAddress> IpAddress::EmbeddedV4() const {
  if (v4_) return std::nullopt;
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  static constexpr uint8_t kNat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
  const uint8_t* b = bytes_.data();
  if (std::memcmp(b, kMapped, 12) == 0 || std::memcmp(b, kNat64, 12) == 0) {
    return V4({b[12], b[13], b[14], b[15]});
  }
  if (b[0] == 0x20 && b[1] == 0x02) return V4({b[2], b[3], b[4], b[5]});  // 6to4
  return std::nullopt;
}

std::string IpAddress::ToString() const {
  char text[INET6_ADDRSTRLEN] = {};
  inet_ntop(v4_ ? AF_INET : AF_INET6, bytes_.data(), text, sizeof text);
  return text;
}

absl::StatusOr<Cidr> Cidr::Parse(absl::string_view text) {
  const std::vector<absl::string_view> parts = absl::StrSplit(text, '/');
  Cidr c;
  std::optional<IpAddress> base = parts.size() == 2 ? IpAddress::Parse(parts[0]) : std::nullopt;
  if (!base.has_value() || !absl::SimpleAtoi(parts[1], &c.prefix_) || c.prefix_ < 0 ||
      c.prefix_ > base->size() * 8) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", text, "\" is not a CIDR range such as 127.0.0.0/8 or ::1/128"));
  }
  c.base_ = *base;
  return c;
}

bool Cidr::Contains(const IpAddress& address) const {
  return address.is_v4() == base_.is_v4() && PrefixMatches(address.bytes(), base_.bytes(), prefix_);
}

std::string InternalAddressKind(const IpAddress& address) {
  if (address.is_v4()) {
    for (const Range4& r : kInternal4) {
      const uint8_t base[4] = {r.a, r.b, r.c, r.d};
      if (PrefixMatches(address.bytes(), base, r.prefix)) {
        return absl::StrCat(r.kind, " (", r.text, ")");
      }
    }
    return "";
  }
  if (std::optional<IpAddress> v4 = address.EmbeddedV4()) return InternalAddressKind(*v4);
  const uint8_t* b = address.bytes();
  static constexpr uint8_t kZero[16] = {};
  if (std::memcmp(b, kZero, 16) == 0) return "an unspecified address (::)";
  if (address == *IpAddress::Parse("::1")) return "a loopback address (::1)";
  if (std::memcmp(b, kZero, 12) == 0) return "a reserved address (::/96)";
  if (address == *IpAddress::Parse("fd00:ec2::254")) {
    return "a cloud metadata address (fd00:ec2::254)";
  }
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return "a link-local address (fe80::/10)";
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) return "a private address (fec0::/10)";
  if ((b[0] & 0xfe) == 0xfc) return "a private address (fc00::/7)";
  if (b[0] == 0xff) return "a multicast address (ff00::/8)";
  return "";
}

Resolver* SystemResolver::Default() {
  static SystemResolver* resolver = new SystemResolver();
  return resolver;
}

absl::StatusOr<std::vector<IpAddress>> SystemResolver::Resolve(const std::string& host) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const int rc = getaddrinfo(host.c_str(), nullptr, &hints, &found);
  if (rc != 0) {
    return absl::UnavailableError(absl::StrCat(host, " does not resolve: ", gai_strerror(rc)));
  }
  std::vector<IpAddress> out;
  for (const addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
    std::optional<IpAddress> a;
    if (ai->ai_family == AF_INET) {
      const auto* sin = reinterpret_cast<const sockaddr_in*>(ai->ai_addr);
      std::array<uint8_t, 4> b;
      std::memcpy(b.data(), &sin->sin_addr, 4);
      a = IpAddress::V4(b);
    } else if (ai->ai_family == AF_INET6) {
      const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(ai->ai_addr);
      std::array<uint8_t, 16> b;
      std::memcpy(b.data(), &sin6->sin6_addr, 16);
      a = IpAddress::V6(b);
    }
    if (a.has_value() && std::find(out.begin(), out.end(), *a) == out.end()) out.push_back(*a);
  }
  freeaddrinfo(found);
  if (out.empty()) return absl::UnavailableError(absl::StrCat(host, " has no address"));
  return out;
}

std::string PinnedUrl::ResolveEntry() const {
  return absl::StrCat(
      target.host, ":", target.port, ":",
      address.is_v4() ? address.ToString() : absl::StrCat("[", address.ToString(), "]"));
}

absl::StatusOr<OutboundPolicy> OutboundPolicy::Create(
    const std::vector<std::string>& allowed_cidrs) {
  OutboundPolicy p;
  for (const std::string& text : allowed_cidrs) {
    absl::StatusOr<Cidr> c = Cidr::Parse(text);
    if (!c.ok()) return c.status();
    p.allowed_.push_back(*c);
  }
  return p;
}

std::string OutboundPolicy::AddressProblem(const IpAddress& address) const {
  for (const Cidr& c : allowed_) {
    if (c.Contains(address)) return "";
  }
  const std::string kind = InternalAddressKind(address);
  if (kind.empty()) return "";
  return absl::StrCat(kind, " outside ", kAllowedField);
}

absl::StatusOr<OutboundUrl> ParseOutboundUrl(absl::string_view url) {
  if (url.empty()) return Refused("must be an https URL");
  if (url.size() > kMaxUrlLength) return Refused("must be at most 2048 characters");
  for (char ch : url) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f) return Refused("must not contain control characters");
    if (c == ' ') return Refused("must not contain spaces");
    if (c >= 0x80) {
      return Refused("must be ASCII (write an international host name in its xn-- form)");
    }
    if (c == '\\') return Refused("must not contain backslashes");
  }
  CurlUrl u(curl_url());
  if (u == nullptr) return absl::ResourceExhaustedError("curl_url failed");
  const std::string text(url);
  const CURLUcode rc = curl_url_set(u.get(), CURLUPART_URL, text.c_str(), CURLU_NON_SUPPORT_SCHEME);
  if (rc != CURLUE_OK) {
    return Refused(absl::StrCat("is not a valid URL (", curl_url_strerror(rc), ")"));
  }
  OutboundUrl out;
  out.scheme = absl::AsciiStrToLower(Part(u.get(), CURLUPART_SCHEME).value_or(""));
  if (out.scheme != "http" && out.scheme != "https") {
    return Refused("the scheme must be https (or http to a loopback IP address)");
  }
  if (Part(u.get(), CURLUPART_USER) || Part(u.get(), CURLUPART_PASSWORD) ||
      Part(u.get(), CURLUPART_OPTIONS)) {
    return Refused("must not contain user information (user:password@ before the host)");
  }
  if (Part(u.get(), CURLUPART_ZONEID)) return Refused("must not name an IPv6 zone");
  const std::string host = Part(u.get(), CURLUPART_HOST).value_or("");
  if (host.empty()) return Refused("must name a host");
  // libcurl normalises the host (percent escapes, IPv4 in decimal, octal or
  // hex): only a host written the way it is used is accepted, so no other
  // parser can read a different host in the same text.
  const std::string written = absl::AsciiStrToLower(text);
  const std::string authority = absl::AsciiStrToLower(absl::StrCat(out.scheme, "://", host));
  const bool plain =
      absl::StartsWith(written, authority) &&
      (written.size() == authority.size() ||
       absl::string_view(":/?#").find(written[authority.size()]) != absl::string_view::npos);
  const bool bracketed = absl::StartsWith(host, "[");
  out.host = absl::AsciiStrToLower(bracketed ? host.substr(1, host.size() - 2) : host);
  out.literal = IpAddress::Parse(out.host);
  if (!plain) {
    if (out.literal.has_value() && out.literal->is_v4()) {
      return Refused("an IPv4 address must be written as four decimal numbers (a.b.c.d)");
    }
    return Refused("the host must be written plainly (no percent escapes or other forms)");
  }
  if (out.literal.has_value() && out.literal->EmbeddedV4().has_value()) {
    return Refused(
        "must not use an IPv6 address that embeds an IPv4 address (write the IPv4 address)");
  }
  if (!out.literal.has_value()) {
    if (bracketed) return Refused("the host must be written plainly");
    if (!std::all_of(out.host.begin(), out.host.end(), IsHostNameChar)) {
      return Refused("the host must be a DNS name of letters, digits, '-' and '.'");
    }
    if (absl::EndsWith(out.host, ".")) return Refused("the host must not end in a dot");
    if (LastLabelLooksNumeric(out.host)) {
      return Refused("an IPv4 address must be written as four decimal numbers (a.b.c.d)");
    }
    if (out.host == "localhost" || absl::EndsWith(out.host, ".localhost")) {
      return Refused(
          "must not name localhost (a loopback name); plain http is only allowed to a loopback "
          "IP address such as 127.0.0.1");
    }
  }
  const std::string port = Part(u.get(), CURLUPART_PORT, CURLU_DEFAULT_PORT).value_or("");
  if (!absl::SimpleAtoi(port, &out.port) || out.port <= 0 || out.port > 65535) {
    return Refused("the port must be between 1 and 65535");
  }
  if (out.scheme == "http" && !(out.literal.has_value() && IsLoopbackLiteral(*out.literal))) {
    return Refused(
        "plain http is only allowed to a loopback IP address (127.0.0.1, [::1]); use https");
  }
  out.url = Part(u.get(), CURLUPART_URL).value_or(text);
  return out;
}

absl::StatusOr<OutboundUrl> OutboundPolicy::Check(absl::string_view url) const {
  absl::StatusOr<OutboundUrl> out = ParseOutboundUrl(url);
  if (out.ok() && out->literal.has_value()) {
    const std::string problem = AddressProblem(*out->literal);
    if (!problem.empty()) return Refused(absl::StrCat("names ", problem));
  }
  return out;
}

absl::StatusOr<PinnedUrl> OutboundPolicy::Pin(absl::string_view url, Resolver& resolver) const {
  absl::StatusOr<OutboundUrl> target = Check(url);
  if (!target.ok()) return target.status();
  if (target->literal.has_value()) return PinnedUrl{*target, *target->literal};
  absl::StatusOr<std::vector<IpAddress>> addresses = resolver.Resolve(target->host);
  if (!addresses.ok()) {
    return absl::UnavailableError(addresses.status().message());
  }
  if (addresses->empty()) {
    return absl::UnavailableError(absl::StrCat(target->host, " has no address"));
  }
  // Every address must pass: a name answering a public and a private
  // address is refused, whichever one a later connection would pick.
  for (const IpAddress& a : *addresses) {
    const std::string problem = AddressProblem(a);
    if (!problem.empty()) {
      return absl::PermissionDeniedError(
          absl::StrCat(target->host, " resolves to ", a.ToString(), ", ", problem));
    }
  }
  return PinnedUrl{*target, addresses->front()};
}

bool HostAllowed(const std::vector<std::string>& patterns, absl::string_view host) {
  if (patterns.empty()) return true;
  for (const std::string& p : patterns) {
    if (p == host) return true;
    if (absl::StartsWith(p, "*.") && host.size() > p.size() - 1 &&
        absl::EndsWith(host, absl::string_view(p).substr(1))) {
      return true;
    }
  }
  return false;
}

std::string HostPatternProblem(absl::string_view pattern) {
  if (IpAddress::Parse(pattern).has_value()) return "";
  absl::string_view name = pattern;
  if (absl::StartsWith(name, "*.")) name.remove_prefix(2);
  const bool ok = !name.empty() && name.size() <= 253 && name.front() != '.' &&
                  name.back() != '.' && std::all_of(name.begin(), name.end(), [](char c) {
                    return absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '-' || c == '.';
                  });
  if (!ok) {
    return "a lower-case host name, \"*.\" and a name, or an IP address (IPv6 without brackets)";
  }
  return "";
}

}  // namespace dsar::delivery
