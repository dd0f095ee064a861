// Renders a breach's documentation (GDPR Art. 33(5): facts, effects and
// corrective actions, with the Art. 33(3) content, the risk assessment, the
// Art. 34 decision, every notification and the version history) for a
// controller, as JSON or as a Markdown document. Pure functions of a full
// breach view already limited to what the reader may see.
#ifndef DSAR_LIB_BREACH_BREACH_REPORT_H_
#define DSAR_LIB_BREACH_BREACH_REPORT_H_

#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "lib/breach/breach.h"

namespace dsar::breach {

// `controller` is the tenant the report is for, or empty for every affected
// tenant in the view.
std::string RenderReportJson(const Breach& breach, absl::string_view controller,
                             absl::Time generated_at);
std::string RenderReportMarkdown(const Breach& breach, absl::string_view controller,
                                 absl::Time generated_at);

// Markdown-escapes text from callers so it cannot change the document's
// structure or inject HTML.
std::string EscapeMarkdown(absl::string_view text);

}  // namespace dsar::breach

#endif  // DSAR_LIB_BREACH_BREACH_REPORT_H_
