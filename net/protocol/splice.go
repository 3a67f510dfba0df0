package protocol

// Splice marks a run of record bytes that AppendFetchResponseFrame left out
// of a frame for the server to write itself, typically with sendfile(2)
// from a segment file.
type Splice struct {
	// At is the position in the frame where the records belong: after
	// their length prefix, before the next partition's fields.
	At int
	// Topic and Partition index FetchResponse.Topics and that topic's
	// Partitions.
	Topic, Partition int
	// Len is how many bytes go there: the partition's RecordsLen.
	Len int32
}

// AppendFetchResponseFrame appends a whole Fetch response frame to dst,
// except the records of partitions whose Records is nil and RecordsLen is
// positive. For those it writes the length prefix (RecordsLen) and reports
// a Splice, in frame order, where the records belong. The frame's length
// prefix counts the spliced bytes, so the frame is only complete once the
// server has written, in order:
//
//	frame[:s[0].At], the records of s[0], frame[s[0].At:s[1].At], the records of s[1], ..., frame[s[n-1].At:]
//
// writing exactly Len bytes for each splice; a short write leaves the
// connection out of step and it must be closed. Splice positions index the
// returned slice, which begins with dst. splices is nil when no partition
// is spliced, and then the frame is the same as AppendResponseFrame's.
func AppendFetchResponseFrame(dst []byte, correlationID int32, resp *FetchResponse) (frame []byte, splices []Splice) {
	n := 0
	for ti := range resp.Topics {
		for pi := range resp.Topics[ti].Partitions {
			if resp.Topics[ti].Partitions[pi].spliced() {
				n++
			}
		}
	}
	start := len(dst)
	dst = appendInt32(dst, 0)
	dst = appendInt32(dst, correlationID)
	if n == 0 {
		dst = resp.appendBody(dst, nil)
		return patchLength(dst, start, 0), nil
	}
	splices = make([]Splice, 0, n)
	dst = resp.appendBody(dst, &splices)
	var extra int64
	for _, s := range splices {
		extra += int64(s.Len)
	}
	return patchLength(dst, start, extra), splices
}
