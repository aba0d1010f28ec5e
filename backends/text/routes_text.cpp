// SPDX-License-Identifier: GPL-2.0-or-later
// PLACEHOLDER: replaced by the real renderer.
#include "backends/text/render.h"
