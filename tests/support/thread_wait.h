// Waiting until another thread of this process is really blocked, so a test that wakes a
// blocked call exercises the wake-up (a writer that wins the race against the reader would
// test only the fast path). Linux shows a thread's scheduler state in
// /proc/self/task/<tid>/stat: 'S' while it sleeps in the kernel (a futex, poll, read).
#pragma once

#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>

namespace usnet::test {

// True once the task whose /proc stat file is `path` is asleep (state S) on three looks in a
// row, 2 ms apart: past the point of no return into a blocking call. False after `limit`.
inline bool wait_until_asleep_at(
    const std::string& path, std::chrono::milliseconds limit = std::chrono::milliseconds(5000)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  int streak = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    std::ifstream f(path);
    std::string line;
    std::getline(f, line);
    const auto p = line.rfind(')');  // the name in parentheses may hold spaces
    const char state = p != std::string::npos && p + 2 < line.size() ? line[p + 2] : '?';
    streak = state == 'S' ? streak + 1 : 0;
    if (streak >= 3) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));  // between two looks
  }
  return false;
}

// Thread `tid` of this process.
inline bool wait_until_asleep(pid_t tid,
                              std::chrono::milliseconds limit = std::chrono::milliseconds(5000)) {
  return wait_until_asleep_at("/proc/self/task/" + std::to_string(tid) + "/stat", limit);
}

// The main thread of process `pid` (a child the test started).
inline bool wait_until_asleep_pid(
    pid_t pid, std::chrono::milliseconds limit = std::chrono::milliseconds(5000)) {
  return wait_until_asleep_at("/proc/" + std::to_string(pid) + "/stat", limit);
}

}  // namespace usnet::test
