#!/bin/bash
# SPDX-License-Identifier: MIT
# The soak (tests/soak/soak.sh) for SOAK_SECONDS (120 in `make test`): random faults from the
# matrix every few seconds; zero missed recoveries, RSS and fd count flat.
export SOAK_SECONDS=${SOAK_SECONDS:-120}
exec bash "$(dirname "$0")/../soak/soak.sh"
