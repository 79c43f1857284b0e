#!/bin/sh
# scripts/bench agent: pod start latency with the process runtime, and
# 10,000 pods over 100 simulated nodes.
exec python3 "$(dirname "$0")/agent.py" "$@"
