// The shims are header-only (static inline); this file gives the target a compilation unit.
#include "TensorShims.h"
