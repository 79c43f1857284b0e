return { kind = "NoSuchKind", reconcile = function() end }
