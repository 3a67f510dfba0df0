package engine

// SetCleanerHook makes the cleaner call hook when a cleaning starts
// ("started", before it reads anything) and at each step of replacing a
// group of segments: "written", "committed", "deleting", "deleted",
// "renamed", "replaced". Tests only.
func SetCleanerHook(e *Engine, hook func(step string)) { e.cleanerHook = hook }
