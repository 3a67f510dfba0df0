package schemareg

import (
	"errors"
	"fmt"
	"net/http"
)

// Error is an answer of the registry's API that is not a success: an HTTP
// status and Confluent's error code and message, which clients show as
// they are.
type Error struct {
	Status  int    `json:"-"`
	Code    int    `json:"error_code"`
	Message string `json:"message"`
	// details are a refusal's reasons one by one, for the compatibility
	// API's verbose messages.
	details []string
}

func (e *Error) Error() string { return fmt.Sprintf("%d %d: %s", e.Status, e.Code, e.Message) }

// Confluent's error codes.
const (
	codeSubjectNotFound       = 40401
	codeVersionNotFound       = 40402
	codeSchemaNotFound        = 40403
	codeSubjectSoftDeleted    = 40404
	codeSubjectNotSoftDeleted = 40405
	codeVersionSoftDeleted    = 40406
	codeVersionNotSoftDeleted = 40407
	codeSubjectLevelNotSet    = 40408
	codeIncompatible          = 409
	codeInvalidSchema         = 42201
	codeInvalidVersion        = 42202
	codeInvalidCompatibility  = 42203
	codeBackend               = 50001
	codeTimeout               = 50002
	codeForwarding            = 50003
	codeBadRequest            = 400
	codeNotFound              = 404
	codeMethodNotAllowed      = 405
	codeRequestEntityTooLarge = 413
	codeUnprocessable         = 422
)

func apiErr(status, code int, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

func subjectNotFound(s string) *Error {
	return apiErr(http.StatusNotFound, codeSubjectNotFound, "Subject '%s' not found.", s)
}

func versionNotFound(s string, v int) *Error {
	return apiErr(http.StatusNotFound, codeVersionNotFound, "Version %d not found for subject '%s'.", v, s)
}

func schemaNotFound() *Error {
	return apiErr(http.StatusNotFound, codeSchemaNotFound, "Schema not found")
}

// Internal failures, mapped to 500s by asError.
var (
	errNoLeader = errors.New("no broker leads the schemas topic")
	errBackend  = errors.New("storing schemas failed")
	errTimeout  = errors.New("timed out")
)

// asError maps any error of an operation to the API's answer.
func asError(err error) *Error {
	var e *Error
	switch {
	case errors.As(err, &e):
		return e
	case errors.Is(err, errTimeout):
		return apiErr(http.StatusInternalServerError, codeTimeout, "Operation timed out: %v", err)
	default:
		return apiErr(http.StatusInternalServerError, codeBackend, "Error in the backend data store: %v", err)
	}
}
