#!/bin/bash
# SPDX-License-Identifier: MIT
# t_h as on a kernel whose oom/mark_victim passes only a pid (before upstream 6.8 and
# Debian's 6.1.133): the daemon is handed that prototype (AMEXBPF_TEST_BTF), keeps exit,
# fork and exec on tp_btf, and the raw_tp pid-only record still makes an oom-killed for the
# app, without detail. See t_h_oom.sh.
OOM_PID_ONLY=1 exec "$(dirname "$0")/t_h_oom.sh"
