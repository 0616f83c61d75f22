#!/bin/bash
# SPDX-License-Identifier: MIT
# t_h with an app PM2 does not restart (--no-autorestart): oom-killed says pm2_restarted
# false once amexbpf's grace is over, and tier 1 brings the app back. See t_h_oom.sh.
OOM_PM2_RESTARTS=no exec "$(dirname "$0")/t_h_oom.sh"
