return { kind = "Pod", reconcile = function( end }
