// Page tokens: the opaque cursor of every List method. A token is base64url
// of the sort position of the last item sent (one or more fields) and a tag
// naming the filter it was issued for, so a token replayed against another
// filter or tenant is refused (INVALID_ARGUMENT on page_token) instead of
// silently skipping or repeating rows. Tokens are not secrets: they hold only
// positions the caller has already seen.
#ifndef DSAR_LIB_STORE_PAGE_TOKEN_H_
#define DSAR_LIB_STORE_PAGE_TOKEN_H_

#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace dsar::store {

// A short tag for a query's filter (tenant, states, ...): 16 hex characters of
// FingerprintOf(filter).
std::string PageFilterTag(std::initializer_list<absl::string_view> filter);

// `position` fields must be non-empty and hold no ':'.
std::string EncodePageToken(std::initializer_list<absl::string_view> position,
                            absl::string_view tag);

// The `fields` position fields of `token`; nullopt unless it was issued with
// `tag` and has exactly that many non-empty fields.
std::optional<std::vector<std::string>> DecodePageToken(absl::string_view token,
                                                        absl::string_view tag, size_t fields);

// DecodePageToken for a one-field position that must be a positive integer
// (a sequence number).
std::optional<int64_t> DecodeSeqPageToken(absl::string_view token, absl::string_view tag);

}  // namespace dsar::store

#endif  // DSAR_LIB_STORE_PAGE_TOKEN_H_
