// Always registered, so every preset's run says whether the apps tests ran.
#include <unistd.h>

#include <gtest/gtest.h>

TEST(Apps, RunInTheDebugPresetOnly) {
#ifdef USNET_SANITIZED
  GTEST_SKIP() << "apps tests run in the debug preset only: they preload libusnet_preload.so "
                  "into uninstrumented programs (the probe, and Debian's binaries), which a "
                  "sanitizer runtime cannot be loaded into after start";
#else
  EXPECT_EQ(::access(USNET_PRELOAD_LIB, R_OK), 0) << USNET_PRELOAD_LIB;
#endif
}
