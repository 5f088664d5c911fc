package errs

import (
	"errors"
	"fmt"
)

// Code is the AWS error name that goes on the wire (`__type` in JSON
// protocols, `<Code>` in Query protocols).
type Code string

// ECS model exceptions.
const (
	Client                             Code = "ClientException"
	Server                             Code = "ServerException"
	InvalidParameter                   Code = "InvalidParameterException"
	AccessDenied                       Code = "AccessDeniedException"
	ClusterNotFound                    Code = "ClusterNotFoundException"
	ClusterContainsContainerInstances  Code = "ClusterContainsContainerInstancesException"
	ClusterContainsServices            Code = "ClusterContainsServicesException"
	ClusterContainsTasks               Code = "ClusterContainsTasksException"
	ClusterContainsCapacityProvider    Code = "ClusterContainsCapacityProviderException"
	ServiceNotFound                    Code = "ServiceNotFoundException"
	ServiceNotActive                   Code = "ServiceNotActiveException"
	TargetNotFound                     Code = "TargetNotFoundException"
	AttributeLimitExceeded             Code = "AttributeLimitExceededException"
	LimitExceeded                      Code = "LimitExceededException"
	ResourceInUse                      Code = "ResourceInUseException"
	ResourceNotFound                   Code = "ResourceNotFoundException"
	UnsupportedFeature                 Code = "UnsupportedFeatureException"
	UpdateInProgress                   Code = "UpdateInProgressException"
	NamespaceNotFound                  Code = "NamespaceNotFoundException"
	Conflict                           Code = "ConflictException"
	PlatformUnknown                    Code = "PlatformUnknownException"
	PlatformTaskDefinitionIncompatible Code = "PlatformTaskDefinitionIncompatibilityException"
)

// Protocol-level errors shared by every AWS JSON service.
const (
	UnknownOperation         Code = "UnknownOperationException"
	Serialization            Code = "SerializationException"
	Validation               Code = "ValidationException"
	InvalidSignature         Code = "InvalidSignatureException"
	UnrecognizedClient       Code = "UnrecognizedClientException"
	IncompleteSignature      Code = "IncompleteSignatureException"
	MissingAuthToken         Code = "MissingAuthenticationTokenException"
	RequestEntityTooLarge    Code = "RequestEntityTooLargeException"
	InternalFailure          Code = "InternalFailure"
	Throttling               Code = "ThrottlingException"
	UnsupportedMediaType     Code = "UnsupportedMediaTypeException"
	InvalidAction            Code = "InvalidAction"
	NotImplementedOperation  Code = "NotImplemented"
	MethodNotAllowed         Code = "MethodNotAllowedException"
	ExpiredToken             Code = "ExpiredTokenException"
	InvalidClientTokenIDCode Code = "InvalidClientTokenId"
)

// Error is an error of a known kind with the message AWS would send.
// Fields holds extra members of the error shape (for example ConflictException
// resourceIds).
type Error struct {
	Code    Code
	Message string
	Fields  map[string]any
}

func (e *Error) Error() string { return string(e.Code) + ": " + e.Message }

// Is makes errors.Is(err, errs.Kind(code)) true for any *Error of that code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code && t.Message == ""
}

// New returns an error of kind code with a formatted message.
func New(code Code, format string, args ...any) *Error {
	if len(args) == 0 {
		return &Error{Code: code, Message: format}
	}
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Kind returns a matcher for errors.Is: errors.Is(err, errs.Kind(errs.Client)).
func Kind(code Code) error { return &Error{Code: code} }

// CodeOf returns the kind of err, or "" if err is not an *Error.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}
