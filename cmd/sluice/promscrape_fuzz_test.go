package main

import (
	"strings"
	"testing"
	"time"
)

// FuzzScrapePage: any page a broker (or anything at the URL) sends is
// parsed or refused, never a panic, and a parsed page always renders,
// alone and as the second of two scrapes.
func FuzzScrapePage(f *testing.F) {
	f.Add(scrape0.String())
	f.Add(scrape1.String())
	f.Add("sluice_topic_bytes_in_total{topic=\"t\"} 1e308\n")
	f.Add("sluice_request_duration_seconds_bucket{listener=\"kafka\",api=\"Produce\",le=\"+Inf\"} NaN\n")
	f.Add("# TYPE x histogram\nx_bucket{le=\"1\"} 2\nx_bucket{le=\"0.5\"} 5\n")
	f.Fuzz(func(t *testing.T, page string) {
		at := time.Unix(1000, 0)
		cur, err := parsePage(strings.NewReader(page), at)
		if err != nil {
			return
		}
		prev, err := parsePage(strings.NewReader(page), at.Add(-time.Second))
		if err != nil {
			t.Fatalf("the same page parsed once and not twice: %v", err)
		}
		for _, scrapes := range [][]brokerScrape{
			{{url: "http://a/metrics", cur: cur}},
			{{url: "http://a/metrics", prev: prev, cur: cur}},
		} {
			renderFrame(buildFrame(at, scrapes), renderOptions{interval: time.Second, topics: 5, groups: 5})
		}
	})
}
