// Package ops is a broker's operations HTTP listener: what a person or a
// scraper asks a running process about itself, never the data it serves.
//
// Routes:
//
//	/metrics        Prometheus text exposition of the Config's registry
//	                (the caller adds the Go runtime and process collectors
//	                there, and its own metrics)
//	/debug/pprof/   net/http/pprof: the index, profile (CPU), heap,
//	                goroutine, mutex, block, allocs, threadcreate, trace
//	/healthz        200 {"status":"ok"}: the process answers
//	/readyz         200 {"ready":true}, or 503 {"ready":false,"reasons":{...}}
//	                with why not, as Config.Ready says
//
// Invariants:
//   - No global state: the handlers live on the server's own mux (never
//     http.DefaultServeMux) and metrics on the caller's registry, so any
//     number of servers (one per test broker) coexist in a process.
//     (Importing net/http/pprof still registers its handlers on
//     http.DefaultServeMux in its init; Sluice never serves that mux.)
//   - The server never changes runtime-wide settings. The mutex and block
//     profiles are empty until the program turns sampling on
//     (runtime.SetMutexProfileFraction, runtime.SetBlockProfileRate);
//     sluiced turns on mutex sampling, which costs only on contended
//     unlocks, and leaves block profiling off, which costs on every
//     blocking event.
//   - /healthz depends on nothing but the HTTP server itself; /readyz
//     calls Ready on each request, so Ready must be cheap and safe from
//     any goroutine.
package ops
