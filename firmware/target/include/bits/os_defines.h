// Target-check only. The host's libstdc++ configuration (Debian's g++-12 headers,
// the same GCC release as gcc-xtensa-lx106) is for glibc; on the ESP8266 there is
// no operating system, so this replaces its os_defines.h with the bare-metal
// (newlib-style) one: nothing to define.
#ifndef _GLIBCXX_OS_DEFINES
#define _GLIBCXX_OS_DEFINES 1
#endif
