// How soon a program's signal handler runs after kill(2), for tests that bound the time a
// program blocked in a call takes to stop (Ctrl-C, SIGTERM).
#pragma once

#include <chrono>

namespace usnet::test {

#ifdef USNET_SANITIZED
// ThreadSanitizer's runtime holds a signal that arrives in a blocking call for up to a second
// before the program's handler runs (seen: 1.01 s, and 1.035 s for usnet httpd in CI); the
// bound of the tests is for the program, not for the sanitizer.
inline constexpr std::chrono::milliseconds kSignalStopBound{3000};
#else
// signal(7) behaviour on the kernel: the handler runs as soon as the call is interrupted; one
// second is what the issue asks of a program stopped by Ctrl-C.
inline constexpr std::chrono::milliseconds kSignalStopBound{1000};
#endif

}  // namespace usnet::test
