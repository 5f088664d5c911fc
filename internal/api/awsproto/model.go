package awsproto

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"

	"github.com/quayside/quayside/internal/errs"
)

// Model is the part of a botocore service model (service-2.json) that the
// wire layer uses: protocol metadata, operations and shapes.
type Model struct {
	Metadata   Metadata             `json:"metadata"`
	Operations map[string]Operation `json:"operations"`
	Shapes     map[string]*Shape    `json:"shapes"`

	// ValidationErrorCode is the error a request that breaks the model's
	// constraints gets (required members, enums, ranges). AWS services differ:
	// most answer ValidationException, ECS answers InvalidParameterException,
	// ELBv2 (a Query service) ValidationError.
	ValidationErrorCode errs.Code `json:"-"`

	// errorShapes and errorCodes map an exception shape's name and its
	// wire code to the code and HTTP status the Query protocol sends
	// (built by LoadModel from the shapes' "error" objects).
	errorShapes, errorCodes map[string]ErrorInfo
}

// ErrorInfo is how an exception of the model goes on the wire in the Query
// protocol: its error.code (which may differ from the shape name:
// LoadBalancerNotFoundException is sent as LoadBalancerNotFound), its HTTP
// status and whether it is the sender's fault.
type ErrorInfo struct {
	Shape  string
	Code   string
	Status int
	Sender bool
}

// ErrorInfo looks up an exception by shape name or by wire code.
func (m *Model) ErrorInfo(name string) (ErrorInfo, bool) {
	if e, ok := m.errorShapes[name]; ok {
		return e, true
	}
	e, ok := m.errorCodes[name]
	return e, ok
}

// Metadata is the model's "metadata" object.
type Metadata struct {
	APIVersion   string `json:"apiVersion"`
	Protocol     string `json:"protocol"`
	JSONVersion  string `json:"jsonVersion"`
	TargetPrefix string `json:"targetPrefix"`
	SigningName  string `json:"signingName"`
	EndpointPfx  string `json:"endpointPrefix"`
	XMLNamespace string `json:"xmlNamespace"`
}

// Operation is one operation of the model.
type Operation struct {
	Name   string    `json:"name"`
	Input  *ShapeRef `json:"input"`
	Output *ShapeRef `json:"output"`
}

// ShapeRef names a shape, with the serialization traits the reference
// carries (Query and XML protocols): the wire name of a member or list
// member, flattened lists, and an output's result wrapper.
type ShapeRef struct {
	Shape         string `json:"shape"`
	LocationName  string `json:"locationName"`
	Flattened     bool   `json:"flattened"`
	ResultWrapper string `json:"resultWrapper"`
}

// Shape is one shape of the model, with the constraints clients and servers
// check.
type Shape struct {
	Type      string              `json:"type"`
	Members   map[string]ShapeRef `json:"members"`
	Member    *ShapeRef           `json:"member"`
	Key       *ShapeRef           `json:"key"`
	Value     *ShapeRef           `json:"value"`
	Required  []string            `json:"required"`
	Enum      []string            `json:"enum"`
	Min       *float64            `json:"min"`
	Max       *float64            `json:"max"`
	Pattern   string              `json:"pattern"`
	Box       bool                `json:"box"`
	Flattened bool                `json:"flattened"`
	Exception bool                `json:"exception"`
	Error     *struct {
		Code           string `json:"code"`
		HTTPStatusCode int    `json:"httpStatusCode"`
		SenderFault    bool   `json:"senderFault"`
	} `json:"error"`
}

// LoadModel parses a service-2.json, gzipped or not.
func LoadModel(raw []byte) (*Model, error) {
	if len(raw) > 2 && raw[0] == 0x1f && raw[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			return nil, fmt.Errorf("awsproto: model: %w", err)
		}
		if raw, err = io.ReadAll(zr); err != nil {
			return nil, fmt.Errorf("awsproto: model: %w", err)
		}
	}
	m := new(Model)
	if err := json.Unmarshal(raw, m); err != nil {
		return nil, fmt.Errorf("awsproto: model: %w", err)
	}
	m.ValidationErrorCode = errs.Validation
	if m.Metadata.SigningName == "" {
		m.Metadata.SigningName = m.Metadata.EndpointPfx
	}
	m.errorShapes, m.errorCodes = map[string]ErrorInfo{}, map[string]ErrorInfo{}
	for name, s := range m.Shapes {
		if !s.Exception {
			continue
		}
		e := ErrorInfo{Shape: name, Code: name, Status: 400, Sender: true}
		if s.Error != nil {
			if s.Error.Code != "" {
				e.Code = s.Error.Code
			}
			if s.Error.HTTPStatusCode != 0 {
				e.Status = s.Error.HTTPStatusCode
			}
			e.Sender = s.Error.SenderFault || e.Status < 500
		}
		m.errorShapes[name] = e
		m.errorCodes[e.Code] = e
	}
	return m, nil
}

// MustLoadModel is LoadModel for models embedded in the binary.
func MustLoadModel(raw []byte) *Model {
	m, err := LoadModel(raw)
	if err != nil {
		panic(err)
	}
	return m
}
