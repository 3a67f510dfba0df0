// Package sendfile sends a region of a file to a TCP connection with
// sendfile(2), so the bytes go from the page cache to the socket without
// entering Go's heap. Both listeners (native and Kafka) serve fetches with
// it.
//
// Invariant: the file offset is always explicit, never the file's shared
// one, so concurrent sends from one segment file never race.
package sendfile
