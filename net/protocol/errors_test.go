package protocol

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func TestErrorCodesAreErrors(t *testing.T) {
	err := fmt.Errorf("produce to orders-3: %w", ErrorCode(3).Err())
	if !errors.Is(err, ErrUnknownTopicOrPartition) || errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("errors.Is does not see through: %v", err)
	}
	var code ErrorCode
	if !errors.As(err, &code) || code != ErrUnknownTopicOrPartition {
		t.Fatalf("errors.As: %v", code)
	}
	if NoError.Err() != nil {
		t.Fatal("NoError.Err() is not nil")
	}
	if got := ErrUnknownTopicOrPartition.Error(); got != "UNKNOWN_TOPIC_OR_PARTITION (3): the broker has no such topic or partition" {
		t.Fatalf("Error() = %q", got)
	}
	if s := ErrorCode(1234).String(); s != "ERROR_CODE_1234" {
		t.Fatalf("unknown code String() = %q", s)
	}
	if ErrorCode(1234).Retriable() || ErrorCode(1234).Known() || ErrorCode(1234).Error() == "" {
		t.Fatal("unknown code")
	}
}

func TestErrorTable(t *testing.T) {
	names := map[string]bool{}
	for _, c := range ErrorCodes() {
		e := errorTable[c]
		if e.name == "" || e.meaning == "" || names[e.name] {
			t.Errorf("%d: name %q, meaning %q", c, e.name, e.meaning)
		}
		names[e.name] = true
	}
	// Kafka's classification, spot-checked against its protocol guide.
	for c, want := range map[ErrorCode]bool{
		ErrUnknownServerError: false, ErrOffsetOutOfRange: false, ErrCorruptMessage: true,
		ErrUnknownTopicOrPartition: true, ErrNotLeaderOrFollower: true, ErrRequestTimedOut: true,
		ErrMessageTooLarge: false, ErrNotCoordinator: true, ErrRebalanceInProgress: false,
		ErrUnsupportedVersion: false, ErrInvalidRequest: false, ErrKafkaStorageError: true,
		ErrThrottlingQuotaExceeded: true, ErrProducerFenced: false, ErrUnknownTopicID: true,
	} {
		if c.Retriable() != want {
			t.Errorf("%v: retriable %v, want %v", c, c.Retriable(), want)
		}
	}
}

// docs/PROTOCOL.md carries the error table and the API list for readers;
// they must say what the code says.
func TestProtocolDocMatches(t *testing.T) {
	doc, err := os.ReadFile("../../docs/PROTOCOL.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile(`(?m)^\| *(-?\d+) *\| *([A-Z_]+) *\| *(yes|no) *\| *(.+?) *\|$`)
	documented := map[ErrorCode]bool{}
	for _, m := range row.FindAllStringSubmatch(string(doc), -1) {
		n, _ := strconv.Atoi(m[1])
		c := ErrorCode(n)
		documented[c] = true
		if !c.Known() || c.String() != m[2] || c.Retriable() != (m[3] == "yes") {
			t.Errorf("PROTOCOL.md says %s %s retriable=%s; code says %s retriable=%v", m[1], m[2], m[3], c, c.Retriable())
		}
	}
	for _, c := range ErrorCodes() {
		if !documented[c] {
			t.Errorf("PROTOCOL.md has no row for %d %v", c, c)
		}
	}
	for _, a := range SupportedAPIs() {
		heading := fmt.Sprintf("### %v (key %d)", a.APIKey, a.APIKey)
		if !strings.Contains(string(doc), heading) {
			t.Errorf("PROTOCOL.md has no %q", heading)
		}
	}
}

func TestAPIKeys(t *testing.T) {
	var prev APIKey = -1
	for _, a := range SupportedAPIs() {
		if a.APIKey <= prev {
			t.Fatalf("SupportedAPIs out of order at %v", a.APIKey)
		}
		prev = a.APIKey
		req, ok1 := NewRequest(a.APIKey)
		resp, ok2 := NewResponse(a.APIKey)
		if !ok1 || !ok2 || req.Key() != a.APIKey || resp.Key() != a.APIKey {
			t.Fatalf("%v: NewRequest %v, NewResponse %v", a.APIKey, ok1, ok2)
		}
		if !Supported(a.APIKey, 0) || Supported(a.APIKey, 1) || Supported(a.APIKey, -1) {
			t.Fatalf("%v: Supported disagrees with version 0 only", a.APIKey)
		}
		if strings.HasPrefix(a.APIKey.String(), "APIKey(") {
			t.Fatalf("%d has no name", a.APIKey)
		}
	}
	for k := APIKey(-2); k < 100; k++ {
		_, ok := NewRequest(k)
		if ok != Supported(k, 0) {
			t.Fatalf("%v: NewRequest %v, Supported %v", k, ok, Supported(k, 0))
		}
	}
	for _, k := range []APIKey{OffsetCommit, OffsetFetch, FindCoordinator, JoinGroup, Heartbeat, LeaveGroup, SyncGroup, DescribeGroups, ListGroups, DeleteGroups} {
		if _, ok := NewRequest(k); !ok || !Supported(k, 0) || strings.HasPrefix(k.String(), "APIKey(") {
			t.Fatalf("group API %v is not served", k)
		}
	}
	if APIKey(999).String() != "APIKey(999)" || APIVersions.String() != "ApiVersions" {
		t.Fatal("String")
	}
	// The list is the caller's.
	s := SupportedAPIs()
	s[0].MaxVersion = 99
	if SupportedAPIs()[0].MaxVersion != 0 {
		t.Fatal("SupportedAPIs shares its array")
	}
}
