/* The agent as the API server's pod backend (pods/log, pods/exec) when
 * both run in one process. Its own file: berth/api.h and berth/plugin.h
 * cannot meet in one translation unit. */
#include "agent/agent.h"
#include "berth/api.h"

static int log_file(void *arg, const char *ns, const char *pod, const char *container,
                    bool previous, char *path, size_t len, bool *running, char *msg,
                    size_t msglen)
{
    return berth_agent_log_file(arg, ns, pod, container, previous, path, len, running, msg,
                                msglen);
}

static int exec_cmd(void *arg, const char *ns, const char *pod, const char *container,
                    const char *const *argv, uint32_t timeout_ms,
                    void (*done)(void *, int, int, const char *, size_t), void *darg,
                    char *msg, size_t msglen)
{
    return berth_agent_exec(arg, ns, pod, container, argv, timeout_ms, done, darg, msg, msglen);
}

static const berth_api_pod_backend backend = {log_file, exec_cmd};

const struct berth_api_pod_backend *berth_agent_pod_backend(void)
{
    return &backend;
}
