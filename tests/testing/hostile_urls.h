// Hostile status-callback and webhook URLs, each with the words of the
// reason it must be refused with: one table for the module test
// (delivery::OutboundPolicy) and the API test (CreatePrivacyRequest through
// gRPC). The servers under test allowlist 127.0.0.0/8 and ::1/128, as the
// demo does: these are refused all the same.
#ifndef DSAR_TESTS_TESTING_HOSTILE_URLS_H_
#define DSAR_TESTS_TESTING_HOSTILE_URLS_H_

#include <string>
#include <vector>

namespace dsar::testing {

struct HostileUrl {
  std::string url;
  std::string reason;  // a part of the refusal's message
};

inline std::vector<HostileUrl> HostileUrls() {
  return {
      // User information: the host is what follows the '@'.
      {"http://127.0.0.1:80@evil.example/", "user information"},
      {"https://user:secret@hooks.example.com/dsr", "user information"},
      {"https://hooks.example.com\\@evil.example/", "backslashes"},
      // Plain http beyond a loopback IP literal.
      {"http://hooks.example.com/dsr", "plain http is only allowed to a loopback IP address"},
      {"http://93.184.215.14/dsr", "plain http is only allowed to a loopback IP address"},
      {"http://localhost:8080/dsr", "must not name localhost"},
      {"https://localhost/dsr", "must not name localhost"},
      {"https://api.localhost/dsr", "must not name localhost"},
      // IPv4 addresses in other notations.
      {"http://2130706433/", "four decimal numbers"},
      {"http://0177.0.0.1/", "four decimal numbers"},
      {"http://0x7f.0.0.1/", "four decimal numbers"},
      {"http://0x7f000001/", "four decimal numbers"},
      {"http://127.1/", "four decimal numbers"},
      {"http://127.000.000.001/", "four decimal numbers"},
      {"https://017700000001/", "four decimal numbers"},
      {"http://%31%32%37.0.0.1/", "four decimal numbers"},
      {"https://1.2.3.4.5/", "four decimal numbers"},
      {"https://127.0.0.1./", "must not end in a dot"},
      // IPv6 forms of loopback and other internal addresses.
      {"http://[::ffff:127.0.0.1]/", "embeds an IPv4 address"},
      {"https://[::ffff:a9fe:a9fe]/", "embeds an IPv4 address"},
      {"https://[64:ff9b::a00:1]/", "embeds an IPv4 address"},
      {"https://[::127.0.0.1]/", "reserved address"},
      {"https://[::]/", "unspecified address"},
      {"https://0.0.0.0/", "unspecified address"},
      {"https://[fe80::1]/", "link-local address"},
      {"http://[fe80::1%25eth0]/", "IPv6 zone"},
      {"https://169.254.1.1/", "link-local address"},
      // Cloud metadata.
      {"https://169.254.169.254/latest/meta-data/", "cloud metadata address"},
      {"https://[fd00:ec2::254]/latest/meta-data/", "cloud metadata address"},
      // Private ranges.
      {"https://10.0.0.1/dsr", "private address (10.0.0.0/8)"},
      {"https://172.16.5.4/dsr", "private address (172.16.0.0/12)"},
      {"https://192.168.1.1/dsr", "private address (192.168.0.0/16)"},
      {"https://100.64.0.1/dsr", "carrier-grade NAT address"},
      {"https://[fd12:3456::1]/dsr", "private address (fc00::/7)"},
      {"https://224.0.0.1/dsr", "multicast address"},
      // Unicode and IDN tricks.
      {"https://b\xc3\xbc"
       "cher.example/",
       "must be ASCII"},
      {"https://\xef\xbc\x91\xef\xbc\x92\xef\xbc\x97.0.0.1/", "must be ASCII"},  // fullwidth 127
      {"https://hooks.example.com\xe2\x81\x84"
       "evil.example/",
       "must be ASCII"},  // fraction slash
      {"https://%65vil.example/", "written plainly"},
      // Length and characters.
      {"https://hooks.example.com/" + std::string(2048, 'a'), "at most 2048 characters"},
      {"https://hooks.example.com/\r\nX-Injected: 1", "control characters"},
      {std::string("https://hooks.example.com/\0x", 28), "control characters"},
      {"https://hooks.example.com/a b", "spaces"},
      // Schemes and shapes.
      {"ftp://hooks.example.com/", "scheme must be https"},
      {"file:///etc/passwd", "scheme must be https"},
      {"gopher://127.0.0.1:25/", "scheme must be https"},
      {"https:///hooks.example.com/", "written plainly"},
      {"https://hooks.example.com:0/", "port must be between 1 and 65535"},
      {"hooks.example.com/dsr", "not a valid URL"},
  };
}

}  // namespace dsar::testing

#endif  // DSAR_TESTS_TESTING_HOSTILE_URLS_H_
