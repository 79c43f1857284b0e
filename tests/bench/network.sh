#!/bin/sh
# scripts/bench network: requests through a ClusterIP against straight to
# the pod, Endpoints change to rule live, programming 1,000 Services x 10
# endpoints (needs root; runs in its own network namespace).
exec python3 "$(dirname "$0")/network.py" "$@"
