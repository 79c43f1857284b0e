-- Loops forever in its filter: the budget must stop it.
return { name = "runaway", filter = function() while true do end end }
