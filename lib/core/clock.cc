#include "lib/core/clock.h"

namespace dsar {

Clock* SystemClock::Default() {
  static Clock* const clock = new SystemClock();
  return clock;
}

}  // namespace dsar
