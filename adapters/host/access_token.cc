// The fixed-token AccessTokenSource.
#include "adapters/host/access_token.h"

#include <utility>

namespace collabcare::host {
namespace {

class StaticTokenSource final : public AccessTokenSource {
 public:
  explicit StaticTokenSource(std::string token) : token_(std::move(token)) {}
  absl::StatusOr<std::string> GetToken() override { return token_; }
  void Invalidate(const std::string&) override {}

 private:
  const std::string token_;
};

}  // namespace

std::unique_ptr<AccessTokenSource> NewStaticTokenSource(std::string token) {
  return std::make_unique<StaticTokenSource>(std::move(token));
}

}  // namespace collabcare::host
