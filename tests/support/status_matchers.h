// gMock matchers for absl::Status / StatusOr (our abseil ships none).
//   EXPECT_THAT(status, StatusIs(absl::StatusCode::kNotFound));
//   EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument,
//   HasSubstr("user_id"))); EXPECT_THAT(status_or, IsOkAndHolds(42));
//   ASSERT_OK(status_or);
#ifndef AVES_TESTS_SUPPORT_STATUS_MATCHERS_H_
#define AVES_TESTS_SUPPORT_STATUS_MATCHERS_H_

#include <string>

#include <absl/status/status.h>
#include <absl/status/statusor.h>
#include <gmock/gmock.h>

namespace aves::testing {

inline const absl::Status& GetStatus(const absl::Status& status) {
  return status;
}
template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& status_or) {
  return status_or.status();
}

MATCHER_P2(StatusIs, code, message_matcher,
           std::string("has code ") + absl::StatusCodeToString(code)) {
  const absl::Status& status = GetStatus(arg);
  *result_listener << "status is " << status.ToString();
  return status.code() == code &&
         ::testing::Matches(message_matcher)(std::string(status.message()));
}

MATCHER_P(StatusIs, code,
          std::string("has code ") + absl::StatusCodeToString(code)) {
  const absl::Status& status = GetStatus(arg);
  *result_listener << "status is " << status.ToString();
  return status.code() == code;
}

MATCHER_P(IsOkAndHolds, value_matcher, "is OK and holds a matching value") {
  if (!arg.ok()) {
    *result_listener << "status is " << arg.status().ToString();
    return false;
  }
  return ::testing::ExplainMatchResult(value_matcher, *arg, result_listener);
}

}  // namespace aves::testing

#define ASSERT_OK(expr)                                            \
  do {                                                             \
    const auto& aves_assert_ok_ = (expr);                          \
    ASSERT_TRUE(::aves::testing::GetStatus(aves_assert_ok_).ok())  \
        << ::aves::testing::GetStatus(aves_assert_ok_).ToString(); \
  } while (false)
#define EXPECT_OK(expr)                                            \
  do {                                                             \
    const auto& aves_expect_ok_ = (expr);                          \
    EXPECT_TRUE(::aves::testing::GetStatus(aves_expect_ok_).ok())  \
        << ::aves::testing::GetStatus(aves_expect_ok_).ToString(); \
  } while (false)

#endif  // AVES_TESTS_SUPPORT_STATUS_MATCHERS_H_
