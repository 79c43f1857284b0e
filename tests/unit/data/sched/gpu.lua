-- A scheduler plugin in Lua: only nodes labelled gpu=yes take pods that ask
-- for a GPU (annotation example.com/gpu), and nodes with fewer pods score
-- higher.
return {
  name = "gpu",
  filter = function(pod, node)
    local wants = (pod.object.metadata.annotations or {})["example.com/gpu"] == "yes"
    local has = (node.object.metadata.labels or {}).gpu == "yes"
    if wants and not has then return false, "node(s) lack a GPU" end
    return true
  end,
  score = function(pod, node)
    return 100 - node.requested.pods * 10
  end,
}
