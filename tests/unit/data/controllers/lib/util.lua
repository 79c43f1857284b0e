return { stamp_name = function(n) return n .. "-stamp" end }
