package ops

// ConnStats returns how many connections s holds open and how many of
// those wait for a request.
func (s *Server) ConnStats() (open, waiting int) { return s.conns.stats() }
