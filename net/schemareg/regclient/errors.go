package regclient

import (
	"errors"
	"fmt"
	"net/http"
)

// Error codes a Confluent-compatible registry answers with, in the body's
// error_code. A registry that sends no code gets the HTTP status as code.
const (
	CodeSubjectNotFound            = 40401
	CodeVersionNotFound            = 40402
	CodeSchemaNotFound             = 40403
	CodeSubjectSoftDeleted         = 40404
	CodeSubjectNotSoftDeleted      = 40405
	CodeVersionSoftDeleted         = 40406
	CodeVersionNotSoftDeleted      = 40407
	CodeSubjectCompatibilityNotSet = 40408
	CodeIncompatibleSchema         = 409
	CodeInvalidSchema              = 42201
	CodeInvalidVersion             = 42202
	CodeInvalidCompatibilityLevel  = 42203
	CodeBackendStore               = 50001
	CodeOperationTimeout           = 50002
	CodeForwardingError            = 50003
)

// codeUnknown is never a registry's code; an Error with it matches no sentinel.
const codeUnknown = 0

// Error is a registry's refusal: the HTTP status and the error code and
// message of its body. Errors a Client returns wrap it with the request's
// method and URL; get it back with errors.As, or compare it with a sentinel
// with errors.Is.
type Error struct {
	Status  int
	Code    int
	Message string
}

func (e *Error) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	return fmt.Sprintf("registry error %d (HTTP %d): %s", e.Code, e.Status, msg)
}

// Is reports whether target is an *Error with the same error code, so that
// errors.Is(err, ErrSubjectNotFound) holds for any subject-not-found answer
// whatever its message.
func (e *Error) Is(target error) bool {
	var t *Error
	if !errors.As(target, &t) {
		return false
	}
	return t.Code != codeUnknown && t.Code == e.Code
}

// Retriable reports whether the same request may succeed later: the
// registry's backend failed or timed out, or it answered 5xx.
func (e *Error) Retriable() bool {
	switch e.Code {
	case CodeBackendStore, CodeOperationTimeout, CodeForwardingError:
		return true
	}
	return e.Status >= 500
}

// Sentinels for the codes callers branch on; compare with errors.Is.
var (
	ErrSubjectNotFound = &Error{Status: http.StatusNotFound, Code: CodeSubjectNotFound, Message: "subject not found"}
	ErrVersionNotFound = &Error{Status: http.StatusNotFound, Code: CodeVersionNotFound, Message: "version not found"}
	// ErrSchemaNotFound: no schema has the id, or (Lookup) the subject
	// exists but does not hold the schema.
	ErrSchemaNotFound = &Error{Status: http.StatusNotFound, Code: CodeSchemaNotFound, Message: "schema not found"}
	// ErrCompatibilityNotSet: the subject has no compatibility level of its
	// own; the global one applies.
	ErrCompatibilityNotSet = &Error{Status: http.StatusNotFound, Code: CodeSubjectCompatibilityNotSet, Message: "subject compatibility level not configured"}
	// ErrIncompatible: registering the schema would break the subject's
	// compatibility level.
	ErrIncompatible              = &Error{Status: http.StatusConflict, Code: CodeIncompatibleSchema, Message: "schema incompatible with an earlier schema"}
	ErrInvalidSchema             = &Error{Status: http.StatusUnprocessableEntity, Code: CodeInvalidSchema, Message: "invalid schema"}
	ErrInvalidVersion            = &Error{Status: http.StatusUnprocessableEntity, Code: CodeInvalidVersion, Message: "invalid version"}
	ErrInvalidCompatibilityLevel = &Error{Status: http.StatusUnprocessableEntity, Code: CodeInvalidCompatibilityLevel, Message: "invalid compatibility level"}
	// ErrBackend: the registry could not read or write its store; retriable.
	ErrBackend = &Error{Status: http.StatusInternalServerError, Code: CodeBackendStore, Message: "error in the backend data store"}
)

// ErrUnavailable: no registry URL could be reached. The error wrapping it
// also wraps each URL's failure.
var ErrUnavailable = errors.New("regclient: no registry reachable")
