// Target-check only: the "generic" locale model (no locales, C conventions), as a
// bare-metal libstdc++ is built with, in place of the host's GNU (glibc) model.
// The core never uses iostreams or locales; <string> still includes this header.
#ifndef _GLIBCXX_CXX_LOCALE_H
#define _GLIBCXX_CXX_LOCALE_H 1

#include <clocale>

#define _GLIBCXX_NUM_CATEGORIES 0

namespace std _GLIBCXX_VISIBILITY(default) {
_GLIBCXX_BEGIN_NAMESPACE_VERSION
typedef int* __c_locale;
int __convert_from_v(const __c_locale&, char* __out, const int __size, const char* __fmt, ...);
_GLIBCXX_END_NAMESPACE_VERSION
}  // namespace std

#endif
