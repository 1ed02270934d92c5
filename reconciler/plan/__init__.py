"""Planning: desired x state x live -> ordered changes."""
