#include "metrics/text_format.h"

#include <prometheus/text_serializer.h>

#include <sstream>

namespace ouroboros::metrics {

std::string render(const std::vector<prometheus::MetricFamily>& families) {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, families);
  return std::move(out).str();
}

}  // namespace ouroboros::metrics
