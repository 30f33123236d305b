#include <doctest/doctest.h>

#include "json_reader.h"

using zias::JsonValue;
using zias::parseJsonObject;

TEST_CASE("an ack payload is read with its top-level members") {
  const auto ack = parseJsonObject(R"({"id": "17-1042", "result": "accepted", "dir": "in", "display": "A. Okafor"})");
  REQUIRE(ack);
  CHECK(zias::stringMember(*ack, "id") == "17-1042");
  CHECK(zias::stringMember(*ack, "result") == "accepted");
  CHECK(zias::stringMember(*ack, "dir") == "in");
  CHECK_FALSE(zias::stringMember(*ack, "missing"));
}

TEST_CASE("string escapes are decoded, including surrogate pairs") {
  const auto o = parseJsonObject(R"({"s": "a\"b\\c\/d\n\u00e9\ud83d\ude00"})");
  REQUIRE(o);
  CHECK(zias::stringMember(*o, "s") == "a\"b\\c/d\n\xC3\xA9\xF0\x9F\x98\x80");
}

TEST_CASE("numbers are kept as written; only plain integers convert") {
  const auto o = parseJsonObject(R"({"i": 60, "n": -3, "f": 5.5, "e": 1e3, "big": 99999999999999999999, "s": "5"})");
  REQUIRE(o);
  CHECK(zias::integerMember(*o, "i") == 60);
  CHECK(zias::integerMember(*o, "n") == -3);
  CHECK_FALSE(zias::integerMember(*o, "f"));
  CHECK_FALSE(zias::integerMember(*o, "e"));
  CHECK_FALSE(zias::integerMember(*o, "big"));
  CHECK_FALSE(zias::integerMember(*o, "s"));
}

TEST_CASE("nested values and literals are accepted and skipped") {
  const auto o = parseJsonObject(R"({"x": {"y": [1, {"z": null}]}, "t": true, "f": false, "n": null})");
  REQUIRE(o);
  CHECK(o->at("x").kind == JsonValue::Kind::Nested);
  CHECK(o->at("t").boolean);
  CHECK(o->at("f").kind == JsonValue::Kind::Bool);
  CHECK(o->at("n").kind == JsonValue::Kind::Null);
}

TEST_CASE("malformed or non-object input is refused") {
  const char* bad[] = {
      "",
      "[]",
      "\"text\"",
      "{",
      "{\"a\":1,}",
      "{\"a\" 1}",
      "{\"a\":01}",
      "{\"a\":-}",
      "{\"a\":1.}",
      "{\"a\":tru}",
      "{\"a\":\"unterminated}",
      "{\"a\":\"bad \\q escape\"}",
      "{\"a\":\"\\ud800 lone surrogate\"}",
      "{\"a\":\"raw\ncontrol\"}",
      "{\"a\":1} trailing",
      "{\"a\":1,\"a\":2}",
      "{\"deep\":[[[[[[[[[[[[1]]]]]]]]]]]]}",
  };
  for (const char* input : bad) {
    CAPTURE(input);
    CHECK_FALSE(parseJsonObject(input));
  }
}
