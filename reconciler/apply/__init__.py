"""Apply: turn a plan into cloud calls, in dependency order, journaled and idempotent."""
