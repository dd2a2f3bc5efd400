"""The embedded demo world: synthetic invoice traffic along every flow, with injected faults."""
