#!/usr/bin/env bash
# g++ wrapper for building mmcv 2.1.0 against torch 2.14: torch's headers need
# C++20 but mmcv's setup.py forces -std=c++14/17 with no switch to change it.
args=()
for a in "$@"; do
  case "$a" in -std=c++14|-std=c++17) args+=(-std=c++20) ;; *) args+=("$a") ;; esac
done
exec g++ "${args[@]}"
