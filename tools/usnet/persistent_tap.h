// A persistent TAP (TUNSETPERSIST, Documentation/networking/tuntap.rst): the device outlives
// the descriptor that created it, so `usnet run` can make and configure it and the program
// it starts opens it again by name (USNET_TAP) when its stack starts. Both calls act in the
// calling thread's network namespace.
#pragma once

#include <string>

namespace usnet::tool {

// Creates the TAP `name` and makes it persistent. *created is false if a device of that name
// already existed (then it is left as it is, and must be a free TAP). False with *error set
// on failure.
bool tap_create_persistent(const std::string& name, bool* created, std::string* error);

// Clears persistence on the TAP `name`: the kernel removes it when its last descriptor
// closes, here at once. If a process still holds it (the program left a child behind),
// the link is deleted instead. False with *error set on failure.
bool tap_remove_persistent(const std::string& name, std::string* error);

}  // namespace usnet::tool
