package schemareg

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Topic is the internal topic that holds the registry: Confluent's and
// Redpanda's name, one partition, compacted.
const Topic = "_schemas"

// TopicConfigs are the topic's config overrides for a topic of rf
// replicas: compacted, so that each schema version's and config's newest
// record stays for as long as the registry exists and a hard delete's
// tombstone removes its version; never cleaned by age or size, since a
// record the log drops is a schema lost; and never an unclean leader, with
// two in-sync replicas for a write where there are three, since an
// acknowledged registration that a failover loses would let its id be
// handed out again.
func TopicConfigs(rf int) map[string]string {
	c := map[string]string{
		"cleanup.policy":                 "compact",
		"retention.ms":                   "-1",
		"retention.bytes":                "-1",
		"unclean.leader.election.enable": "false",
	}
	if rf >= 3 {
		c["min.insync.replicas"] = "2"
	}
	return c
}

// Key types of the records, as Confluent's _schemas topic has them, and
// keyID, Sluice's own: the highest id handed out, so that an id is never
// handed out twice, even once every version that used it was hard deleted
// and compacted away.
const (
	keySchema = "SCHEMA"
	keyConfig = "CONFIG"
	keyID     = "ID"
)

// recordKey is a record's key: Confluent's JSON layout.
type recordKey struct {
	KeyType string  `json:"keytype"`
	Subject *string `json:"subject"`
	Version int     `json:"version,omitempty"`
	Magic   int     `json:"magic"`
}

// schemaValue is a SCHEMA record's value: one version of a subject.
type schemaValue struct {
	Subject    string `json:"subject"`
	Version    int    `json:"version"`
	ID         int    `json:"id"`
	SchemaType string `json:"schemaType,omitempty"` // empty: AVRO
	Schema     string `json:"schema"`
	Deleted    bool   `json:"deleted"`
}

// configValue is a CONFIG record's value: a compatibility level, of a
// subject or (subject null) the registry's default.
type configValue struct {
	CompatibilityLevel string `json:"compatibilityLevel"`
}

// idValue is an ID record's value.
type idValue struct {
	ID int `json:"id"`
}

// record is one decoded record of the topic. value is nil for a
// tombstone.
type record struct {
	key    recordKey
	schema *schemaValue
	config *configValue
	id     *idValue
}

var errBadRecord = errors.New("schemas record")

// maxVersion and maxID bound what a record may say, far past any real
// registry, so that arithmetic on them never overflows.
const (
	maxVersion = 1 << 30
	maxID      = 1 << 30
)

// decodeRecord decodes one record's key and value (nil: a tombstone).
// Anything it does not understand is an error; the caller skips such a
// record, as Confluent's reader skips what it cannot parse.
func decodeRecord(key, value []byte) (record, error) {
	var r record
	if err := json.Unmarshal(key, &r.key); err != nil {
		return r, fmt.Errorf("%w: key: %v", errBadRecord, err)
	}
	switch r.key.KeyType {
	case keySchema:
		if r.key.Subject == nil || r.key.Version < 1 || r.key.Version > maxVersion {
			return r, fmt.Errorf("%w: SCHEMA key without a subject or a version in [1, %d]", errBadRecord, maxVersion)
		}
		if value == nil {
			return r, nil
		}
		r.schema = new(schemaValue)
		if err := json.Unmarshal(value, r.schema); err != nil {
			return r, fmt.Errorf("%w: value: %v", errBadRecord, err)
		}
		if r.schema.Subject != *r.key.Subject || r.schema.Version != r.key.Version || r.schema.ID < 1 || r.schema.ID > maxID {
			return r, fmt.Errorf("%w: SCHEMA value disagrees with its key, or id %d not in [1, %d]", errBadRecord, r.schema.ID, maxID)
		}
	case keyConfig:
		if value == nil {
			return r, nil
		}
		r.config = new(configValue)
		if err := json.Unmarshal(value, r.config); err != nil {
			return r, fmt.Errorf("%w: value: %v", errBadRecord, err)
		}
	case keyID:
		if value == nil {
			return r, nil
		}
		r.id = new(idValue)
		if err := json.Unmarshal(value, r.id); err != nil {
			return r, fmt.Errorf("%w: value: %v", errBadRecord, err)
		}
		if r.id.ID < 1 || r.id.ID > maxID {
			return r, fmt.Errorf("%w: id %d not in [1, %d]", errBadRecord, r.id.ID, maxID)
		}
	default:
		return r, fmt.Errorf("%w: key type %q", errBadRecord, r.key.KeyType)
	}
	return r, nil
}

// encodeKey and encodeValue write what decodeRecord reads.
func encodeKey(k recordKey) []byte {
	b, _ := json.Marshal(k) // strings and ints: cannot fail
	return b
}

func encodeValue(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

func schemaKey(subject string, version int) recordKey {
	return recordKey{KeyType: keySchema, Subject: &subject, Version: version, Magic: 1}
}

// configKey is a subject's config key; an empty subject is the default's.
func configKey(subject string) recordKey {
	k := recordKey{KeyType: keyConfig}
	if subject != "" {
		k.Subject = &subject
	}
	return k
}

func idKey() recordKey { return recordKey{KeyType: keyID} }
