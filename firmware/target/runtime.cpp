// Target-check only: the few out-of-line pieces of libstdc++ the core's
// containers call, which Debian's cross compiler ships no library for. On the
// ESP8266 the Arduino core's own libstdc++ provides them; built with
// -fno-exceptions, each "throw" there ends in abort(), as it does here.
#include <cstdint>
#include <cstdlib>
#include <new>

namespace std {
void __throw_length_error(const char*) { abort(); }
void __throw_logic_error(const char*) { abort(); }
void __throw_out_of_range(const char*) { abort(); }
void __throw_out_of_range_fmt(const char*, ...) { abort(); }
void __throw_bad_alloc() { abort(); }
void __throw_bad_array_new_length() { abort(); }
void __throw_bad_optional_access() { abort(); }
void __throw_invalid_argument(const char*) { abort(); }
}  // namespace std

void* operator new(std::size_t size) {
  void* p = std::malloc(size ? size : 1);
  if (p == nullptr) abort();
  return p;
}
void* operator new[](std::size_t size) { return operator new(size); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
extern "C" void __cxa_pure_virtual() { abort(); }

// picolibc's abort() raises SIGABRT; with no operating system these three end
// it. (On the ESP8266 the SDK's abort() resets the chip.)
extern "C" {
int getpid() { return 1; }
int kill(int, int) { return -1; }
[[noreturn]] void _exit(int) {
  for (;;) {
  }
}
}

// std::map (the core's JSON objects) rebalances its tree with these four
// functions from libstdc++'s tree.cc. Not available here, they are stand-ins
// that keep the link honest about everything else; the real ones add about
// 1–2 KB of flash on the device (see README.md, "On the target").
#include <bits/stl_tree.h>
namespace std {
_Rb_tree_node_base* _Rb_tree_increment(_Rb_tree_node_base*) throw() { abort(); }
_Rb_tree_node_base* _Rb_tree_decrement(_Rb_tree_node_base*) throw() { abort(); }
void _Rb_tree_insert_and_rebalance(bool, _Rb_tree_node_base*, _Rb_tree_node_base*,
                                   _Rb_tree_node_base&) throw() {
  abort();
}
}  // namespace std

// libstdc++ declares std::string's members as instantiated in the library
// (extern template); instantiate them here instead. --gc-sections keeps only
// the members the core calls.
#include <string>
template class std::__cxx11::basic_string<char>;

// GCC calls helpers for division and 64-bit multiplication; on the ESP8266 they
// are in the chip's mask ROM (Debian's libgcc for this target leaves them out).
// Each is a jump to its ROM address, as the SDK's ROM symbol table gives it; a
// function here rather than a linker symbol, because picolibc was built without
// -mlongcalls and cannot call that far.
namespace {
template <typename F>
F rom(std::uintptr_t address) {
  return reinterpret_cast<F>(address);
}
}  // namespace

extern "C" {
std::uint32_t __udivsi3(std::uint32_t a, std::uint32_t b) {
  return rom<std::uint32_t (*)(std::uint32_t, std::uint32_t)>(0x4000e21c)(a, b);
}
std::uint32_t __umodsi3(std::uint32_t a, std::uint32_t b) {
  return rom<std::uint32_t (*)(std::uint32_t, std::uint32_t)>(0x4000e268)(a, b);
}
std::int32_t __divsi3(std::int32_t a, std::int32_t b) {
  return rom<std::int32_t (*)(std::int32_t, std::int32_t)>(0x4000dc88)(a, b);
}
std::int64_t __muldi3(std::int64_t a, std::int64_t b) {
  return rom<std::int64_t (*)(std::int64_t, std::int64_t)>(0x40000650)(a, b);
}
std::int64_t __divdi3(std::int64_t a, std::int64_t b) {
  return rom<std::int64_t (*)(std::int64_t, std::int64_t)>(0x4000ce60)(a, b);
}
std::uint64_t __udivdi3(std::uint64_t a, std::uint64_t b) {
  return rom<std::uint64_t (*)(std::uint64_t, std::uint64_t)>(0x4000d310)(a, b);
}
std::uint64_t __umoddi3(std::uint64_t a, std::uint64_t b) {
  return rom<std::uint64_t (*)(std::uint64_t, std::uint64_t)>(0x4000d770)(a, b);
}
}
