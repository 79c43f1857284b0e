/* berth: a Kubernetes-style container orchestrator. The umbrella header. */
#ifndef BERTH_H
#define BERTH_H

#define BERTH_VERSION_MAJOR 0
#define BERTH_VERSION_MINOR 1
#define BERTH_VERSION_PATCH 0
#define BERTH_VERSION "0.1.0"
/* The Kubernetes API version berth speaks, reported by /version. */
#define BERTH_KUBE_VERSION "v1.32.0"

#include "berth/errno.h"
#include "berth/log.h"
#include "berth/object.h"
#include "berth/patch.h"
#include "berth/quantity.h"
#include "berth/selector.h"
#include "berth/store.h"
#include "berth/validate.h"

#endif
