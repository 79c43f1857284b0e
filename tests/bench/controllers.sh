#!/bin/sh
# scripts/bench controllers: a Deployment of 10,000 replicas reconciled by the
# stock Lua controllers into 10,000 Pod objects on a live berthd server.
exec python3 "$(dirname "$0")/controllers.py" "$@"
