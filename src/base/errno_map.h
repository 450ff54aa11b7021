// The one table that turns the stack's typed errors into Linux errno values (STYLE habit 9).
// Used by the API edge and by SO_ERROR, whose value is an errno by definition.
#pragma once

#include "base/result.h"

namespace usnet {

int to_errno(Error e) noexcept;

}  // namespace usnet
