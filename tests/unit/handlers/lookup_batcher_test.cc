// The CallContext a batch of lookups runs under: the most lenient deadline,
// cancelled only when every member's caller is gone.
#include "server/handlers/lookup_batcher.h"

#include <gtest/gtest.h>

namespace aves {
namespace {

common::CallContext Member(absl::Time deadline, bool* cancelled) {
  common::CallContext context;
  context.deadline = deadline;
  if (cancelled != nullptr)
    context.cancelled = [cancelled] { return *cancelled; };
  return context;
}

TEST(BatchContextTest, RunsUnderTheLatestDeadline) {
  const absl::Time now = absl::Now();
  common::CallContext batch =
      handlers::BatchContext({Member(now + absl::Seconds(1), nullptr),
                              Member(now + absl::Seconds(5), nullptr),
                              Member(now + absl::Seconds(2), nullptr)});
  EXPECT_EQ(batch.deadline, now + absl::Seconds(5));
  EXPECT_EQ(handlers::BatchContext(
                {Member(now, nullptr), Member(absl::InfiniteFuture(), nullptr)})
                .deadline,
            absl::InfiniteFuture());
  EXPECT_FALSE(batch.cancelled) << "members that cannot be cancelled";
}

TEST(BatchContextTest, IsCancelledOnlyWhenEveryCallerIsGone) {
  bool first = false, second = false;
  common::CallContext batch = handlers::BatchContext(
      {Member(absl::Now(), &first), Member(absl::Now(), &second)});
  ASSERT_TRUE(batch.cancelled);
  EXPECT_FALSE(batch.cancelled());
  first = true;
  EXPECT_FALSE(batch.cancelled());
  second = true;
  EXPECT_TRUE(batch.cancelled());
  bool only = true;
  common::CallContext mixed = handlers::BatchContext(
      {Member(absl::Now(), &only), Member(absl::Now(), nullptr)});
  EXPECT_FALSE(mixed.cancelled);
}

}  // namespace
}  // namespace aves
