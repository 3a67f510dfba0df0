package engine

// SetCleanerHook makes the cleaner call hook at each step of replacing a
// group of segments: "written", "committed", "deleting", "deleted",
// "renamed", "replaced". Tests only.
func SetCleanerHook(e *Engine, hook func(step string)) { e.cleanerHook = hook }
