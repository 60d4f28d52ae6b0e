// Stands in for std::ios_base_library_init(), which libLibTorchSharp.so was linked against (GLIBCXX_3.4.32, GCC 13)
// and which older libstdc++ releases (Debian 12 ships GCC 12's) do not have. From GCC 13 on, <iostream> no longer
// constructs a std::ios_base::Init in every file that includes it: it references this function instead, and the
// library sets up cout and friends itself. An older library does not, so this shim constructs the Init object once,
// when it is loaded, which is what the GCC 12 headers would have done.
#include <ios>

namespace std
{
    __attribute__((visibility("default"))) void ios_base_library_init() {}
}

static std::ios_base::Init hardfocus_iostream_init;
