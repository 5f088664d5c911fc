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
	// most answer ValidationException, ECS answers InvalidParameterException.
	ValidationErrorCode errs.Code `json:"-"`
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

// ShapeRef names a shape.
type ShapeRef struct {
	Shape string `json:"shape"`
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
