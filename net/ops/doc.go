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
//
// Limits: bad input (a huge URL, a slowloris client that opens
// connections and never finishes its headers) leaves the listener
// answering and its memory bounded.
//   - A request's line and headers are at most 16 KiB; beyond that the
//     answer is 431 and the connection closes, after the server has read
//     at most 4 KiB more. A scrape or a curl sends under 1 KiB.
//   - Every connection that is not inside a request ends in bounded
//     time: one that has not sent its headers within
//     Config.ReadHeaderTimeout (5 s) is closed without an answer, an idle
//     keep-alive one after Config.IdleTimeout (2 min).
//   - At most Config.MaxConns (256) connections are open, so memory is
//     bounded by that many goroutines and header buffers (a few MiB).
//     The accept loop never blocks, since a blocked one would let
//     slowloris lock scrapers out: past the cap a new connection takes
//     the slot of the one that has waited longest for a request (just
//     accepted, or idle), which is closed; only when every slot is
//     inside a request is the new connection closed instead. A scraper
//     that sends its request at once is therefore served however many
//     slow connections are open.
//   - No WriteTimeout or ReadTimeout: a CPU profile or trace streams for
//     the seconds it is asked for. The price is that a request, once its
//     headers are read, keeps its slot until its handler returns, however
//     slowly the client reads the answer or sends a body. This listener
//     serves pprof, so only trusted networks may reach it; the limits
//     guard against broken and slow clients, not against those.
//   - Shutdown closes the connections waiting for a request at once, and
//     waits only for requests in flight.
package ops
