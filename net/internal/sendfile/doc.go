// Package sendfile sends a region of a file to a TCP connection with
// sendfile(2), so the bytes go from the page cache to the socket without
// entering Go's heap, and writes whole fetch responses (Writer.WriteFrame):
// the framing from memory, the records from segment files (small regions
// read into memory and gathered into one write with their neighbours).
// Both listeners (native and Kafka) serve fetches with it.
//
// Invariants: the file offset is always explicit, never the file's shared
// one, so concurrent sends and reads of one segment file never race; and
// every byte WriteFrame holds back with MSG_MORE is pushed by the send
// that follows it before WriteFrame returns.
package sendfile
