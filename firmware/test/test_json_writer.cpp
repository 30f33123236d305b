#include <doctest/doctest.h>

#include "json_writer.h"

using zias::JsonWriter;

static std::string quoted(std::string_view s) {
  std::string out;
  zias::appendJsonString(out, s);
  return out;
}

TEST_CASE("strings are escaped so any text stays valid JSON") {
  CHECK(quoted("plain") == "\"plain\"");
  CHECK(quoted("say \"hi\"") == "\"say \\\"hi\\\"\"");
  CHECK(quoted("back\\slash") == "\"back\\\\slash\"");
  CHECK(quoted("a\nb\rc\td\be\ff") == "\"a\\nb\\rc\\td\\be\\ff\"");
  CHECK(quoted(std::string("nul\0x", 5)) == "\"nul\\u0000x\"");
  CHECK(quoted("\x1f") == "\"\\u001f\"");
  CHECK(quoted("slash / stays") == "\"slash / stays\"");
  CHECK(quoted("Okafor \xC3\xA9") == "\"Okafor \xC3\xA9\"");  // UTF-8 passes through
}

TEST_CASE("objects and arrays get commas only between items") {
  JsonWriter json;
  json.beginObject()
      .key("a").addInteger(-5)
      .key("b").addBool(false)
      .key("c").beginArray().addString("x").addInteger(2).beginObject().endObject().endArray()
      .key("d").addRaw("{\"r\":1}")
      .endObject();
  CHECK(json.str() == "{\"a\":-5,\"b\":false,\"c\":[\"x\",2,{}],\"d\":{\"r\":1}}");
}

TEST_CASE("keys are escaped too") {
  JsonWriter json;
  json.beginObject().key("we\"ird").addInteger(1).endObject();
  CHECK(json.str() == "{\"we\\\"ird\":1}");
}

TEST_CASE("large integers such as epoch milliseconds are written exactly") {
  JsonWriter json;
  json.beginArray().addInteger(1795766462345LL).addInteger(INT64_MIN).endArray();
  CHECK(json.str() == "[1795766462345,-9223372036854775808]");
}
