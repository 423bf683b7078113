// JSON written by the service itself: strings escaped so that any text,
// quotes, backslashes and control characters included, stays one value.
#include "server/common/json_writer.h"

#include <string>

#include <gtest/gtest.h>

#include "server/common/json_syntax.h"

namespace aves::common {
namespace {

TEST(JsonWriterTest, ObjectsHoldTextNumbersAndLists) {
  EXPECT_EQ(JsonObject().Text(), "{}");
  EXPECT_EQ(JsonObject()
                .Add("load_id", "l1")
                .Add("offset", int64_t{300})
                .Add("columns", std::vector<std::string>{"a", "b"})
                .Text(),
            R"({"load_id": "l1", "offset": 300, "columns": ["a", "b"]})");
}

TEST(JsonWriterTest, AnyTextStaysOneString) {
  const std::string hostile =
      std::string("say \"hi\" \\ }, \"x\": 1 \n\t\r") + '\x01' + "\x7f é";
  std::string out;
  AppendJsonString(hostile, &out);
  EXPECT_EQ(out,
            "\"say \\\"hi\\\" \\\\ }, \\\"x\\\": 1 \\n\\t\\r\\u0001\x7f é\"");
  out.clear();
  AppendJsonString(std::string("a\0b", 3), &out);
  EXPECT_EQ(out, "\"a\\ufffdb\"") << "jsonb cannot store \\u0000";
  std::string error;
  const std::string object = JsonObject().Add("note", hostile).Text();
  EXPECT_TRUE(IsValidJson(object, &error)) << error << ": " << object;
}

}  // namespace
}  // namespace aves::common
