"""Pure rules over one claims table: early warning (monitoring) and its workflow; fund-supervision audit rules go here."""
