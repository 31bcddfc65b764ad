"""SMS fallback: texts the facts of a Zalo message that can never be delivered, to citizens who consented."""
